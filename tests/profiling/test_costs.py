"""layer_costs: each layer's FLOPs match the analytic counts and add up to the whole model's.

XLA:CPU's counting conventions, as these tests rely on them:
- a dot of (M, K) by (K, N) counts 2*M*N*K FLOPs (a multiply and an add per term);
- an elementwise add (the bias) or max (relu) counts one FLOP per output element;
- a convolution counts 2 * batch * out_h * out_w * out_c * k_h * k_w * in_c;
- a reduction of n elements to one counts n - 1 (a Dense's bias gradient: (M - 1) * N);
- exp, tanh and friends go into "transcendentals", not FLOPs, so a softmax adds only its few
  elementwise ops and reductions (a number that varies with the XLA version).
Fusion changes what is read and written, never what is computed: per-instruction FLOPs inside a
fusion are counted as outside one, so the layers' FLOPs add up to the whole model's, while its
bytes accessed may differ (a reshape between layers becomes free).
"""

import json

import jax
import numpy as np
import pytest

import workbench
from workbench import layers
from workbench.profiling.costs import LayerCosts, layer_costs

M, D, H, OUT = 8, 32, 64, 10  # MLP: batch, inputs, hidden units, outputs
B, S, C = 2, 10, 3  # convnet: batch, image side, input channels


def mlp():
    return workbench.Sequential([
        workbench.Input((D,), name="x"),
        layers.Dense(H, activation="relu", name="hidden"),
        layers.Dense(H, name="linear"),
        layers.Dense(OUT, activation="softmax", name="probs"),
    ], name="mlp")


def convnet():
    return workbench.Sequential([
        workbench.Input((S, S, C)),
        layers.Conv2D(4, 3, activation="relu", name="conv_a"),
        layers.MaxPooling2D(name="pool"),
        layers.Conv2D(6, 3, name="conv_b"),
        layers.Flatten(name="flat"),
        layers.Dense(5, name="head"),
    ], name="convnet")


@pytest.fixture(scope="module")
def mlp_costs():
    return layer_costs(mlp(), np.zeros((M, D), np.float32))


@pytest.fixture(scope="module")
def convnet_costs():
    return layer_costs(convnet(), np.zeros((B, S, S, C), np.float32))


def _row(costs, name):
    return next(r for r in costs.rows if r.name == name)


def test_dense_forward_flops_are_the_matmul_plus_bias_and_activation(mlp_costs):
    assert [r.name for r in mlp_costs.rows] == ["hidden", "linear", "probs"]
    assert _row(mlp_costs, "hidden").forward.flops == 2 * M * D * H + M * H + M * H  # matmul, bias, relu
    assert _row(mlp_costs, "linear").forward.flops == 2 * M * H * H + M * H  # matmul, bias
    probs = _row(mlp_costs, "probs").forward.flops
    matmul_and_bias = 2 * M * H * OUT + M * OUT
    assert matmul_and_bias < probs < 1.05 * matmul_and_bias  # softmax: a few ops per element


def test_conv_flops_follow_the_conv_formula(convnet_costs):
    a, b = _row(convnet_costs, "conv_a"), _row(convnet_costs, "conv_b")
    assert a.output_shape == (B, 8, 8, 4) and b.output_shape == (B, 2, 2, 6)
    conv_a = 2 * B * 8 * 8 * 4 * 3 * 3 * C
    conv_b = 2 * B * 2 * 2 * 6 * 3 * 3 * 4
    assert a.forward.flops == conv_a + 2 * B * 8 * 8 * 4  # + bias and relu, one per output element
    assert b.forward.flops == conv_b + B * 2 * 2 * 6  # + bias
    assert _row(convnet_costs, "flat").forward.flops == 0
    assert _row(convnet_costs, "head").params == 6 * 4 * 5 + 5


@pytest.mark.parametrize("which", ["mlp_costs", "convnet_costs"])
def test_layers_add_up_to_the_whole_model(which, request):
    costs = request.getfixturevalue(which)
    assert costs.total.forward.flops == sum(r.forward.flops for r in costs.rows)
    assert costs.total.forward.flops == pytest.approx(costs.model.forward.flops, rel=1e-3)
    assert costs.total.forward_backward.flops == pytest.approx(costs.model.forward_backward.flops, rel=1e-3)
    assert sum(r.forward_share for r in costs.rows) == pytest.approx(1.0)
    # Bytes are close but need not match: fusion across a layer boundary can save a round trip through
    # memory (the convnet's Flatten becomes free).
    assert costs.model.forward.bytes_accessed == pytest.approx(costs.total.forward.bytes_accessed, rel=0.1)


def test_dense_forward_backward_is_three_forward_passes(mlp_costs):
    # Backward adds two matmuls of the forward's size (for the inputs' and the kernel's gradients)
    # and the bias gradient's reduction over the batch.
    linear = _row(mlp_costs, "linear")
    assert linear.forward_backward.flops == pytest.approx(3 * linear.forward.flops, rel=0.01)
    assert linear.forward_backward.flops == 3 * 2 * M * H * H + M * H + (M - 1) * H
    assert linear.forward_backward.bytes_accessed > linear.forward.bytes_accessed


def test_flops_scale_with_the_batch_and_the_batch_size_is_reported(mlp_costs):
    half = layer_costs(mlp(), jax.ShapeDtypeStruct((M // 2, D), np.float32))
    assert (half.batch_size, mlp_costs.batch_size) == (M // 2, M)
    assert _row(half, "linear").forward.flops * 2 == _row(mlp_costs, "linear").forward.flops


class TwoCalls(workbench.Model):
    """Calls one Dense twice and a nested Sequential once, with an op of its own in between."""

    def __init__(self):
        super().__init__(name="two_calls")
        self.shared = layers.Dense(8, name="shared")
        self.block = workbench.Sequential([layers.Dense(16, name="inner_a"), layers.Dense(4, name="inner_b")])

    def call(self, x):
        h = self.shared(self.shared(x))
        return self.block(h * 2.0)


def test_subclassed_model_rows_are_its_direct_calls_once_per_call():
    model = TwoCalls()
    model(np.zeros((3, 8), np.float32))
    costs = layer_costs(model)  # a batch of one, from the shape the model was built for
    assert costs.batch_size == 1
    assert [r.name for r in costs.rows] == ["shared (call 1)", "shared (call 2)", model.block.name]
    assert costs.rows[0].forward == costs.rows[1].forward
    assert costs.rows[2].class_name == "Sequential" and costs.rows[2].params == 8 * 16 + 16 + 16 * 4 + 4
    # The model's own multiply by 2 (8 FLOPs) is in the whole model but in no layer.
    assert costs.model.forward.flops == costs.total.forward.flops + 8


def test_training_costs_include_dropout_and_batch_norm_updates():
    model = workbench.Sequential([
        workbench.Input((16,)), layers.BatchNormalization(name="bn"), layers.Dropout(0.5, name="drop"),
    ])
    inference = layer_costs(model, np.zeros((4, 16), np.float32))
    training = layer_costs(model, np.zeros((4, 16), np.float32), training=True)
    assert training.training and not inference.training
    assert _row(inference, "drop").forward.flops == 0
    assert _row(training, "drop").forward.flops > 0  # drawing the mask
    assert _row(training, "bn").forward.flops > _row(inference, "bn").forward.flops


def test_to_dict_is_json_and_str_is_a_table(mlp_costs):
    data = mlp_costs.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["batch_size"] == M and data["rows"][0]["output_shape"] == [M, H]
    assert data["model"]["forward"]["flops"] == mlp_costs.model.forward.flops
    text = str(mlp_costs)
    assert isinstance(mlp_costs, LayerCosts)
    assert 'Costs of model "mlp" per batch of 8, inference' in text
    assert "hidden (Dense)" in text and "Sum of layers" in text and "Whole model" in text


DEFAULT_SUMMARY = """\
Model: "tiny"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ first (Dense)                   │ (None, 16)             │           528 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ second (Dense)                  │ (None, 2)              │            34 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 562 (2.20 KB)
 Trainable params: 562 (2.20 KB)
 Non-trainable params: 0 (0.00 B)"""


def tiny():
    return workbench.Sequential([
        workbench.Input((32,)), layers.Dense(16, name="first"), layers.Dense(2, name="second"),
    ], name="tiny")


def test_summary_with_costs_adds_flops_columns_and_the_default_is_unchanged():
    model = tiny()
    lines = []
    model.summary(print_fn=lines.append)
    assert "\n".join(lines) == DEFAULT_SUMMARY

    lines = []
    model.summary(print_fn=lines.append, costs=True)
    text = "\n".join(lines)
    assert "Fwd KFLOPs" in text and "FLOPs %" in text
    first = next(line for line in lines if "first (Dense)" in line)
    assert "1.04" in first and "94.0%" in first  # 2*32*16 + 16 FLOPs of 1,106 for a batch of one
    assert "FLOPs per batch of 1: 1.11 KFLOPs forward" in text

    lines = []
    model.summary(print_fn=lines.append, costs=True, sample_batch=np.zeros((1000, 32), np.float32))
    assert "Fwd MFLOPs" in "\n".join(lines)


def test_errors_say_what_was_expected_and_what_arrived():
    with pytest.raises(ValueError, match=r"expects \(None, 32\)") as info:
        layer_costs(tiny(), np.zeros((2, 5), np.float32))
    assert "(2, 5)" in str(info.value)
    with pytest.raises(ValueError, match="pass sample_batch="):
        TwoCalls().summary(costs=True)  # never called: its input shape is unknown
    with pytest.raises(ValueError, match="not built"):
        layer_costs(TwoCalls(), np.zeros((1, 8), np.float32))
    with pytest.raises(TypeError, match="holds a str"):
        layer_costs(tiny(), "not an array")
    with pytest.raises(ValueError, match="costs=True"):
        tiny().summary(sample_batch=np.zeros((1, 32), np.float32))

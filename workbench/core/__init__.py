"""The pure-JAX core: Variable, Layer, symbolic tensors and the model containers."""

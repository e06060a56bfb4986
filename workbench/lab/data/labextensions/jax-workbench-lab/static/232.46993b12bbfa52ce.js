"use strict";(self.rspackChunkjax_workbench_lab=self.rspackChunkjax_workbench_lab||[]).push([[232],{475(o,r,e){var a=e(601),t=e.n(a),n=e(314),i=(e.n(n))()(t());i.push([o.id,`/*
 * Workbench views. Colours come from JupyterLab's theme variables so the
 * views follow the light and dark themes.
 */

.wb-Sidebar,
.wb-RunView,
.wb-CompareView {
  --wb-color-train: var(--jp-brand-color1);
  --wb-color-val: var(--jp-warn-color1);
  --wb-series-0: #4e79a7;
  --wb-series-1: #f28e2b;
  --wb-series-2: #e15759;
  --wb-series-3: #76b7b2;
  --wb-series-4: #59a14f;
  --wb-series-5: #edc948;
  --wb-series-6: #b07aa1;
  --wb-series-7: #ff9da7;
  --wb-series-8: #9c755f;
  --wb-series-9: #bab0ac;

  color: var(--jp-ui-font-color1);
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1);
}

/* Sidebar */

.wb-Sidebar {
  display: flex;
  flex-direction: column;
  min-width: 220px;
  background: var(--jp-layout-color1);
}

.wb-SidebarHeader {
  padding: 8px 8px 4px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
}

.wb-SidebarTitle {
  margin: 0 0 6px;
  font-size: var(--jp-ui-font-size1);
  font-weight: 600;
  text-transform: uppercase;
  letter-spacing: 0.04em;
  color: var(--jp-ui-font-color1);
}

.wb-Toolbar {
  display: flex;
  gap: 4px;
  align-items: center;
}

.wb-Filter {
  flex: 1 1 auto;
  min-width: 0;
}

.wb-IconButton {
  display: flex;
  align-items: center;
  justify-content: center;
  width: 26px;
  height: 26px;
  padding: 0;
  border: none;
  border-radius: 2px;
  background: transparent;
  cursor: pointer;
}

.wb-IconButton:hover {
  background: var(--jp-layout-color2);
}

.wb-CompareButton {
  white-space: nowrap;
}

.wb-Message {
  margin: 8px;
  padding: 8px;
  border-left: 3px solid var(--jp-warn-color1);
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}

.wb-RunList {
  flex: 1 1 auto;
  margin: 0;
  padding: 0;
  overflow-y: auto;
  list-style: none;
}

.wb-RunRow {
  display: flex;
  gap: 6px;
  align-items: flex-start;
  padding: 6px 8px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color3);
  cursor: pointer;
}

.wb-RunRow:hover,
.wb-RunRow:focus {
  background: var(--jp-layout-color2);
  outline: none;
}

.wb-RunSelect {
  margin-top: 2px;
}

.wb-RunMain {
  flex: 1 1 auto;
  min-width: 0;
}

.wb-RunName {
  font-weight: 600;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}

.wb-RunId {
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-ui-font-size0);
  color: var(--jp-ui-font-color2);
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}

.wb-RunMeta,
.wb-RunBest {
  display: flex;
  flex-wrap: wrap;
  gap: 2px 8px;
  margin-top: 2px;
  font-size: var(--jp-ui-font-size0);
  color: var(--jp-ui-font-color2);
}

.wb-BestValue {
  font-family: var(--jp-code-font-family);
  color: var(--jp-ui-font-color1);
}

.wb-SidebarFooter {
  padding: 4px 8px;
  font-size: var(--jp-ui-font-size0);
  color: var(--jp-ui-font-color3);
  border-top: var(--jp-border-width) solid var(--jp-border-color2);
  overflow-wrap: anywhere;
}

/* Status badges */

.wb-StatusBadge {
  display: inline-flex;
  align-items: center;
  gap: 4px;
  font-size: var(--jp-ui-font-size0);
  color: var(--jp-ui-font-color1);
}

.wb-StatusDot {
  width: 8px;
  height: 8px;
  border-radius: 50%;
  background: var(--jp-ui-font-color3);
}

.wb-StatusBadge.wb-mod-running .wb-StatusDot {
  background: var(--jp-success-color1);
  animation: wb-pulse 1.4s ease-in-out infinite;
}

.wb-StatusBadge.wb-mod-finished .wb-StatusDot {
  background: var(--jp-brand-color1);
}

.wb-StatusBadge.wb-mod-failed .wb-StatusDot {
  background: var(--jp-error-color1);
}

.wb-StatusBadge.wb-mod-interrupted .wb-StatusDot {
  background: var(--jp-warn-color1);
}

@keyframes wb-pulse {
  0%,
  100% {
    opacity: 1;
    transform: scale(1);
  }

  50% {
    opacity: 0.35;
    transform: scale(0.7);
  }
}

@media (prefers-reduced-motion: reduce) {
  .wb-StatusBadge.wb-mod-running .wb-StatusDot {
    animation: none;
  }
}

/* Run and compare views */

.wb-RunView,
.wb-CompareView {
  padding: 12px 16px 24px;
  overflow: auto;
  background: var(--jp-layout-color0);
}

.wb-RunHeader {
  display: flex;
  flex-wrap: wrap;
  gap: 8px 16px;
  align-items: flex-start;
  justify-content: space-between;
  margin-bottom: 8px;
}

.wb-RunTitle {
  margin: 0 0 4px;
  font-size: var(--jp-content-font-size3, 1.4em);
  font-weight: 600;
  color: var(--jp-ui-font-color0);
}

.wb-RunHeaderMeta {
  display: flex;
  flex-wrap: wrap;
  gap: 4px 12px;
  align-items: center;
  color: var(--jp-ui-font-color2);
}

.wb-RunPath {
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-ui-font-size0);
  overflow-wrap: anywhere;
}

.wb-ExportBar {
  display: flex;
  flex-wrap: wrap;
  gap: 8px;
  align-items: center;
}

/* JupyterLab's \`button.jp-mod-styled.jp-mod-accept\` (and its :hover/:active)
 * paint the button blue whatever its state; these selectors outrank them so a
 * disabled Export reads as unavailable, in light and dark themes alike. */
.wb-ExportButton:disabled,
button.wb-ExportButton.jp-mod-styled.jp-mod-accept:disabled,
button.wb-ExportButton.jp-mod-styled.jp-mod-accept:disabled:hover,
button.wb-ExportButton.jp-mod-styled.jp-mod-accept:disabled:active {
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color3);
  box-shadow: inset 0 0 0 var(--jp-border-width) var(--jp-border-color1);
  opacity: 1;
  cursor: not-allowed;
}

.wb-ExportReason {
  max-width: 40em;
  color: var(--jp-ui-font-color2);
  font-size: var(--jp-ui-font-size0);
}

.wb-RunMessage,
.wb-ExportError {
  margin: 8px 0;
  padding: 8px;
  border-left: 3px solid var(--jp-error-color1);
  background: var(--jp-layout-color2);
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}

.wb-ExportProgress {
  display: flex;
  gap: 8px;
  align-items: center;
  margin: 8px 0;
  color: var(--jp-ui-font-color1);
}

.wb-Spinner {
  width: 14px;
  height: 14px;
  border: 2px solid var(--jp-border-color2);
  border-top-color: var(--jp-brand-color1);
  border-radius: 50%;
  animation: wb-spin 0.8s linear infinite;
}

@keyframes wb-spin {
  to {
    transform: rotate(360deg);
  }
}

.wb-ExportResult {
  margin: 8px 0;
  padding: 8px;
  border-left: 3px solid var(--jp-success-color1);
  background: var(--jp-layout-color1);
}

.wb-Section {
  margin: 12px 0;
  overflow-x: auto;
}

.wb-SectionTitle {
  padding: 4px 0;
  font-size: var(--jp-ui-font-size2);
  font-weight: 600;
  color: var(--jp-ui-font-color0);
  cursor: pointer;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
}

.wb-Subtitle {
  margin: 12px 0 4px;
  font-size: var(--jp-ui-font-size1);
  font-weight: 600;
}

.wb-Hint,
.wb-Note {
  margin: 4px 0;
  color: var(--jp-ui-font-color2);
}

.wb-ErrorText,
.wb-FormError {
  color: var(--jp-error-color1);
}

.wb-Pre {
  margin: 4px 0;
  padding: 8px;
  background: var(--jp-layout-color2);
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}

/* Tables */

.wb-Table {
  border-collapse: collapse;
  margin: 4px 0;
  font-size: var(--jp-ui-font-size1);
}

.wb-Table th,
.wb-Table td {
  padding: 3px 8px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
  text-align: left;
  vertical-align: top;
}

.wb-Table thead th {
  font-weight: 600;
  color: var(--jp-ui-font-color1);
  border-bottom-color: var(--jp-border-color1);
}

.wb-KeyValue th {
  font-weight: 600;
  color: var(--jp-ui-font-color2);
  white-space: nowrap;
}

.wb-KeyValue td {
  max-width: 60em;
  overflow-wrap: anywhere;
}

.wb-Table code {
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
  overflow-wrap: anywhere;
}

.wb-CompareTable {
  overflow-x: auto;
}

.wb-HparamTable td.wb-mod-differs,
.wb-HparamTable th.wb-mod-differs {
  background: var(--jp-warn-color3);
  color: var(--jp-ui-font-color0);
}

.wb-HparamTable th.wb-mod-metric {
  font-style: italic;
}

.wb-Swatch {
  display: inline-block;
  width: 10px;
  height: 10px;
  margin-right: 6px;
  border-radius: 2px;
  vertical-align: baseline;
}

.wb-RunLink {
  color: var(--jp-content-link-color);
  text-decoration: none;
  white-space: nowrap;
}

.wb-RunLink:hover {
  text-decoration: underline;
}

/* Profile */

.wb-PartLegend {
  display: flex;
  flex-wrap: wrap;
  gap: 4px 12px;
  margin: 4px 0;
  font-size: var(--jp-ui-font-size0);
  color: var(--jp-ui-font-color2);
}

.wb-StackedBar {
  display: flex;
  width: 160px;
  height: 10px;
  margin-top: 3px;
  background: var(--jp-layout-color2);
}

.wb-Part-data_wait {
  background: var(--wb-series-1);
}

.wb-Part-compile {
  background: var(--wb-series-2);
}

.wb-Part-dispatch {
  background: var(--wb-series-6);
}

.wb-Part-device {
  background: var(--wb-series-0);
}

.wb-Part-callbacks {
  background: var(--wb-series-3);
}

.wb-Part-checkpoint {
  background: var(--wb-series-8);
}

.wb-Part-validation {
  background: var(--wb-series-4);
}

.wb-Part-other {
  background: var(--wb-series-9);
}

/* Charts */

.wb-ChartToolbar {
  display: flex;
  flex-wrap: wrap;
  gap: 8px 16px;
  align-items: center;
  margin: 8px 0;
}

.wb-KindToggle {
  display: inline-flex;
}

.wb-KindButton {
  padding: 2px 10px;
  border: var(--jp-border-width) solid var(--jp-border-color1);
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  cursor: pointer;
}

.wb-KindButton + .wb-KindButton {
  border-left: none;
}

.wb-KindButton.wb-mod-active {
  background: var(--jp-brand-color1);
  border-color: var(--jp-brand-color1);
  color: var(--jp-ui-inverse-font-color0);
}

.wb-ChartToolbar label {
  display: inline-flex;
  gap: 6px;
  align-items: center;
}

.wb-SmoothingLabel {
  display: inline-flex;
  gap: 6px;
  align-items: center;
}

.wb-SmoothingValue {
  min-width: 2.5em;
  font-family: var(--jp-code-font-family);
}

.wb-Charts {
  display: grid;
  grid-template-columns: repeat(auto-fill, minmax(340px, 480px));
  gap: 12px;
}

.wb-ChartBox {
  padding: 4px;
  border: var(--jp-border-width) solid var(--jp-border-color2);
  border-radius: 3px;
  background: var(--jp-layout-color1);
}

.wb-ChartBox.wb-mod-wide {
  grid-column: 1 / -1;
  max-width: 760px;
}

.wb-Chart {
  display: block;
  width: 100%;
  height: auto;
  font-family: var(--jp-ui-font-family);
}

.wb-ChartTitle {
  font-size: 12px;
  font-weight: 600;
  fill: var(--jp-ui-font-color1);
}

.wb-ChartEmpty {
  font-size: 12px;
  fill: var(--jp-ui-font-color3);
  text-anchor: middle;
}

.wb-PlotArea {
  fill: none;
  stroke: var(--jp-border-color2);
}

.wb-Grid {
  stroke: var(--jp-border-color3);
  stroke-dasharray: 2 3;
}

.wb-Tick {
  stroke: var(--jp-border-color1);
}

.wb-TickLabel,
.wb-AxisLabel {
  font-size: 10px;
  fill: var(--jp-ui-font-color2);
}

.wb-TickLabel.wb-mod-y {
  text-anchor: end;
}

.wb-TickLabel.wb-mod-x {
  text-anchor: middle;
}

.wb-AxisLabel {
  text-anchor: end;
  transform: translateY(12px);
}

.wb-Curve {
  fill: none;
  stroke-width: 1.8;
  stroke-linejoin: round;
  stroke-linecap: round;
}

.wb-Curve.wb-mod-dashed,
.wb-LegendLine.wb-mod-dashed {
  stroke-dasharray: 5 3;
}

.wb-CurveRaw {
  fill: none;
  stroke-width: 1;
  opacity: 0.25;
}

.wb-LegendLine {
  stroke-width: 2;
}

.wb-LegendLabel {
  font-size: 11px;
  fill: var(--jp-ui-font-color1);
}

.wb-HoverRule {
  stroke: var(--jp-ui-font-color3);
  stroke-width: 1;
}

.wb-HoverBackground {
  fill: var(--jp-layout-color0);
  stroke: var(--jp-border-color1);
  opacity: 0.92;
}

.wb-HoverText {
  font-size: 10.5px;
  font-family: var(--jp-code-font-family);
  fill: var(--jp-ui-font-color1);
}

.wb-HoverDot {
  stroke: var(--jp-layout-color0);
  stroke-width: 1;
}

/* Export dialog */

.wb-ExportForm {
  min-width: 340px;
}

.wb-FormRows {
  display: flex;
  flex-direction: column;
  gap: 10px;
}

.wb-FormRows label {
  display: flex;
  flex-direction: column;
  gap: 3px;
}

.wb-FormRows label.wb-CheckboxLabel {
  flex-direction: row;
  gap: 6px;
  align-items: center;
}

.wb-PushFields {
  display: flex;
  flex-direction: column;
  gap: 8px;
  padding-left: 20px;
}

.wb-PushFields[hidden] {
  display: none;
}

.wb-PushName.wb-mod-invalid {
  border-color: var(--jp-error-color1);
}
`,""]),e.d(r,{},{A:i})},314(o){o.exports=function(o){var r=[];return r.toString=function(){return this.map(function(r){var e="",a=void 0!==r[5];return r[4]&&(e+="@supports (".concat(r[4],") {")),r[2]&&(e+="@media ".concat(r[2]," {")),a&&(e+="@layer".concat(r[5].length>0?" ".concat(r[5]):""," {")),e+=o(r),a&&(e+="}"),r[2]&&(e+="}"),r[4]&&(e+="}"),e}).join("")},r.i=function(o,e,a,t,n){"string"==typeof o&&(o=[[null,o,void 0]]);var i={};if(a)for(var l=0;l<this.length;l++){var p=this[l][0];null!=p&&(i[p]=!0)}for(var s=0;s<o.length;s++){var d=[].concat(o[s]);a&&i[d[0]]||(void 0!==n&&(void 0===d[5]||(d[1]="@layer".concat(d[5].length>0?" ".concat(d[5]):""," {").concat(d[1],"}")),d[5]=n),e&&(d[2]&&(d[1]="@media ".concat(d[2]," {").concat(d[1],"}")),d[2]=e),t&&(d[4]?(d[1]="@supports (".concat(d[4],") {").concat(d[1],"}"),d[4]=t):d[4]="".concat(t)),r.push(d))}},r}},601(o){o.exports=function(o){return o[1]}},72(o){var r=[];function e(o){for(var e=-1,a=0;a<r.length;a++)if(r[a].identifier===o){e=a;break}return e}function a(o,a){for(var t={},n=[],i=0;i<o.length;i++){var l=o[i],p=a.base?l[0]+a.base:l[0],s=t[p]||0,d="".concat(p," ").concat(s);t[p]=s+1;var c=e(d),b={css:l[1],media:l[2],sourceMap:l[3],supports:l[4],layer:l[5]};if(-1!==c)r[c].references++,r[c].updater(b);else{var w=function(o,r){var e=r.domAPI(r);return e.update(o),function(r){r?(r.css!==o.css||r.media!==o.media||r.sourceMap!==o.sourceMap||r.supports!==o.supports||r.layer!==o.layer)&&e.update(o=r):e.remove()}}(b,a);a.byIndex=i,r.splice(i,0,{identifier:d,updater:w,references:1})}n.push(d)}return n}o.exports=function(o,t){var n=a(o=o||[],t=t||{});return function(o){o=o||[];for(var i=0;i<n.length;i++){var l=e(n[i]);r[l].references--}for(var p=a(o,t),s=0;s<n.length;s++){var d=e(n[s]);0===r[d].references&&(r[d].updater(),r.splice(d,1))}n=p}}},659(o){var r={};o.exports=function(o,e){var a=function(o){if(void 0===r[o]){var e=document.querySelector(o);if(window.HTMLIFrameElement&&e instanceof window.HTMLIFrameElement)try{e=e.contentDocument.head}catch(o){e=null}r[o]=e}return r[o]}(o);if(!a)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");a.appendChild(e)}},540(o){o.exports=function(o){var r=document.createElement("style");return o.setAttributes(r,o.attributes),o.insert(r,o.options),r}},56(o,r,e){o.exports=function(o){var r=e.nc;r&&o.setAttribute("nonce",r)}},825(o){o.exports=function(o){if("u"<typeof document)return{update:function(){},remove:function(){}};var r=o.insertStyleElement(o);return{update:function(e){var a,t,n;a="",e.supports&&(a+="@supports (".concat(e.supports,") {")),e.media&&(a+="@media ".concat(e.media," {")),(t=void 0!==e.layer)&&(a+="@layer".concat(e.layer.length>0?" ".concat(e.layer):""," {")),a+=e.css,t&&(a+="}"),e.media&&(a+="}"),e.supports&&(a+="}"),(n=e.sourceMap)&&"u">typeof btoa&&(a+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(n))))," */")),o.styleTagTransform(a,r,o.options)},remove:function(){var o;null===(o=r).parentNode||o.parentNode.removeChild(o)}}}},113(o){o.exports=function(o,r){if(r.styleSheet)r.styleSheet.cssText=o;else{for(;r.firstChild;)r.removeChild(r.firstChild);r.appendChild(document.createTextNode(o))}}},579(o,r,e){var a=e(72),t=e.n(a),n=e(825),i=e.n(n),l=e(659),p=e.n(l),s=e(56),d=e.n(s),c=e(540),b=e.n(c),w=e(113),u=e.n(w),f=e(475),v={};v.styleTagTransform=u(),v.setAttributes=d(),v.insert=p().bind(null,"head"),v.domAPI=i(),v.insertStyleElement=b(),t()(f.A,v),f.A&&f.A.locals&&f.A.locals}}]);
/**
 * The Workbench icon: a chart line over axes, drawn in the theme's icon colour.
 */

import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 3h2v16h16v2H3z"/>
    <path d="M7.2 16.4 6 15.2l4.6-5.8 3.1 3.1 5.4-7 1.3 1-6.5 8.4-3.1-3.1z"/>
  </g>
</svg>`;

export const workbenchIcon = new LabIcon({
  name: 'jax-workbench-lab:workbench',
  svgstr: svg
});

// Entry of the console: mounts the app into #root.
import { render } from 'solid-js/web';
import { App } from './App.tsx';
import './styles.css';
import './workspace.css';

render(() => <App />, document.getElementById('root')!);

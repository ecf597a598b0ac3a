// Entry of the console: mounts the app into #root.
import { render } from 'solid-js/web';
import { App } from './App.tsx';
import './styles.css';
import './workspace.css';
// The task view's review parts (highlighting, rationale, inline comments, test categories, policy), after the rest.
import './review.css';

render(() => <App />, document.getElementById('root')!);

// Public surface of the experience memory: the role that stores ended tasks, and recall for prompts.
export { type Recalled, memorySection, recallFromBoard, recallMemories } from './recall.ts';
export { startMemoryRole } from './role.ts';
export { memoryRepoKey, rememberEvent } from './store.ts';
export { changedLines, type Repeat, repeatedRejections, repeatSection } from './repeat.ts';

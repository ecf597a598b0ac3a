// Gathers what the calibrated confidence needs around a review (the task's retrieved context, the recalled
// memories, the fitted weights in the state dir) and computes it. A missing input leaves its features unknown.
import { recallMemories } from '../memory/index.ts';
import {
  type CalibratedConfidence,
  keys,
  type Patch,
  PlanContext,
  type ReviewVerdict,
  type TestRun,
} from '../../schemas/index.ts';
import type { StepInput } from '../runtime/types.ts';
import { calibrate, confidenceFeatures, loadCalibration } from './confidence.ts';

export async function reviewConfidence(
  input: StepInput,
  verdict: ReviewVerdict,
  patch: Patch,
  testRun: TestRun | undefined,
): Promise<CalibratedConfidence> {
  const { task, mesh } = input;
  const context = (await mesh.board.get(keys.context(task.id), PlanContext).catch(() => undefined))?.value;
  const memories = await recallMemories(
    mesh,
    task,
    `${task.request.title}\n${task.request.description}`,
  ).catch(() => []);
  const features = confidenceFeatures({
    verdict,
    patch,
    testRun,
    context,
    memories: memories.map((m) => m.entry),
  });
  return calibrate(features, loadCalibration(input.deps.dataDir));
}

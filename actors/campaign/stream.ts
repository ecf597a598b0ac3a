// A campaign's events onto the JetStream events stream (`cm.evt.<campaignId>`), where the chat bridges and the
// recorder read them and from where they can be replayed. The blackboard entry stays the source: an event is
// appended there under compare-and-set first, then published; `streamedSeq` on the entry says how far the
// stream has them, so a writer that died in between leaves the rest to the next driver pass (at least once;
// the message id `<campaignId>:<seq>` makes a second publication within the stream's window a duplicate).
import type { MeshConnection } from '../../blackboard/index.ts';
import {
  type CampaignRecord,
  CampaignRecord as CampaignRecordSchema,
  campaignStreamEvent,
  keys,
} from '../../schemas/index.ts';

/** Publishes the entry's events not yet on the stream, then records how far it got. Returns how many. */
export async function streamCampaignEvents(mesh: MeshConnection, c: CampaignRecord): Promise<number> {
  const pending = c.events.filter((e) => e.seq > c.streamedSeq);
  if (pending.length === 0) return 0;
  let done = c.streamedSeq;
  try {
    for (const e of pending) {
      await mesh.bus.publish(campaignStreamEvent(c, e));
      done = e.seq;
    }
  } finally {
    if (done > c.streamedSeq)
      await mesh.board.mutate(keys.campaign(c.id), CampaignRecordSchema, (cur) =>
        cur && cur.streamedSeq < done ? { ...cur, streamedSeq: done } : undefined,
      );
  }
  return pending.length;
}

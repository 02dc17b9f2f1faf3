/*
 * Several inboxes share the load of accepted events. An event's shard is picked from its id, so
 * the same event sent twice lands in the same inbox and is recorded once; its shard then travels
 * in its queue message, so the consumer knows which inbox to acknowledge.
 */

export const INBOX_SHARDS = 4;

/** The inbox of one shard; its name is stable, so every caller reaches the same object. */
export const inboxStub = (env: Env, shard: number) => env.INBOX.get(env.INBOX.idFromName(`inbox-${shard}`));

/** The shard of an event id: a stable string hash. */
export const pickShard = (key: string) => {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h % INBOX_SHARDS;
};

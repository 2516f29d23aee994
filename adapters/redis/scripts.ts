/**
 * The server-side Lua scripts: every check and the writes it guards run in
 * one script, which Redis executes without interleaving any other command.
 * That, not a client-side lock, is what makes compare-and-set and batches
 * atomic. Every key a script writes is passed in KEYS and shares one hash
 * tag, so the scripts are legal on Redis Cluster too.
 *
 * Expiry is decided at the caller's clock (`now`, passed in ARGV): an entry
 * past its expiresAt is absent here even while Redis still holds it.
 */

/** Reads of an entry's header (`<version>\n<expiresAt>\n`): its live version, or nil when absent or expired. */
const LIVE = `
local now = tonumber(ARGV[1])
local function expired(header, first)
  local second = string.find(header, '\\n', first + 1, true)
  local expiresAt = tonumber(string.sub(header, first + 1, second - 1))
  return expiresAt ~= nil and expiresAt <= now
end
local function liveVersion(key)
  local header = redis.call('GETRANGE', key, 0, 63)
  local first = string.find(header, '\\n', 1, true)
  if not first or expired(header, first) then return nil end
  return string.sub(header, 1, first - 1)
end
local function liveEntry(key)
  local raw = redis.call('GET', key)
  if not raw then return false end
  local first = string.find(raw, '\\n', 1, true)
  if expired(raw, first) then return false end
  return raw
end
`;

/** Fields per operation in the write script's ARGV. */
export const WRITE_FIELDS = 7;

/**
 * One batch (a single put, compare-and-set or delete is a batch of one).
 * KEYS: index, expiry, then the entry key of each operation.
 * ARGV: now, then per operation: type, key, condition (`absent`, `present`,
 * `version` or empty), the version a `version` condition expects, expiresAt
 * (or empty), the physical expiry PXAT, and the entry string of a put.
 * Decides every condition and read first, against the state before the
 * batch; writes only when all hold. Returns `{ ok, failed, entries }`.
 */
export const WRITE_SCRIPT = `${LIVE}
local count = (#ARGV - 1) / ${WRITE_FIELDS}
local function field(i, f) return ARGV[1 + (i - 1) * ${WRITE_FIELDS} + f] end
local failed = -1
local entries = {}
for i = 1, count do
  local op, condition = field(i, 1), field(i, 3)
  if op == 'get' then
    entries[#entries + 1] = liveEntry(KEYS[2 + i])
  elseif failed < 0 and condition ~= '' then
    local version = liveVersion(KEYS[2 + i])
    local holds
    if condition == 'absent' then holds = version == nil
    elseif condition == 'present' then holds = version ~= nil
    else holds = version == field(i, 4) end
    if not holds then failed = i - 1 end
  end
end
if failed >= 0 then return {0, failed, entries} end
for i = 1, count do
  local op, key, member = field(i, 1), KEYS[2 + i], field(i, 2)
  if op == 'put' then
    local expiresAt = field(i, 5)
    if expiresAt == '' then
      redis.call('SET', key, field(i, 7))
      redis.call('ZREM', KEYS[2], member)
    else
      redis.call('SET', key, field(i, 7), 'PXAT', field(i, 6))
      redis.call('ZADD', KEYS[2], expiresAt, member)
    end
    redis.call('ZADD', KEYS[1], 0, member)
  elseif op == 'delete' then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], member)
    redis.call('ZREM', KEYS[2], member)
  end
end
return {1, -1, entries}
`;

/**
 * One page of one shard's index. KEYS: index, expiry. ARGV: now, the lower
 * bound (ZRANGE BYLEX syntax), the prefix, limit, and how many members it
 * may examine. Expired members are skipped and removed from both sorted
 * sets (their entry strings go with Redis's own expiry). Returns
 * `{ keys, last member examined or false, 1 when the range is exhausted }`.
 */
export const LIST_SCRIPT = `
local now = tonumber(ARGV[1])
local min = ARGV[2]
local max = '+'
if ARGV[3] ~= '' then max = '(' .. ARGV[3] .. '\\255' end
local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[5])
local keys, last, done = {}, false, false
while #keys < limit and budget > 0 do
  local want = math.min(limit - #keys, budget)
  local chunk = redis.call('ZRANGE', KEYS[1], min, max, 'BYLEX', 'LIMIT', 0, want)
  budget = budget - #chunk
  for _, member in ipairs(chunk) do
    local expiresAt = tonumber(redis.call('ZSCORE', KEYS[2], member))
    if expiresAt and expiresAt <= now then
      redis.call('ZREM', KEYS[1], member)
      redis.call('ZREM', KEYS[2], member)
    else
      keys[#keys + 1] = member
    end
    last = member
  end
  if #chunk < want then done = true break end
  min = '(' .. last
end
if not done and #keys == limit and #redis.call('ZRANGE', KEYS[1], min, max, 'BYLEX', 'LIMIT', 0, 1) == 0 then done = true end
return {keys, last, done and 1 or 0}
`;

/**
 * Removes entries that are still expired at `now`. KEYS: index, expiry, then
 * entry keys; ARGV: now, then the member of each entry key. Re-checks each
 * one, so an entry rewritten since it was found expired stays. Returns how
 * many were removed.
 */
export const PURGE_SCRIPT = `
local now = tonumber(ARGV[1])
local removed = 0
for i = 2, #ARGV do
  local expiresAt = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[i]))
  if expiresAt and expiresAt <= now then
    redis.call('DEL', KEYS[1 + i])
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    removed = removed + 1
  end
end
return removed
`;

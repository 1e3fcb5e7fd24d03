-- Atomically record a batch of stored events (and optionally a tracking record).
--
-- Everything is checked before anything is written, so a rejected batch leaves no trace:
-- Redis does not roll back a script that fails half way.
--
-- KEYS[1] counter of the global sequence (INCRBY gives gapless notification ids)
-- KEYS[2] global stream; entry id "<notification id>-0"
-- KEYS[3] hash: originator id -> last recorded version (survives trims)
-- KEYS[4] hash: application name -> max tracking id
-- ARGV[1] key prefix of the per-aggregate streams (entry id "<version>-1")
-- ARGV[2] "1" to write the global stream (application recorder), "0" not to
-- ARGV[3] tracking application name, or "" for none
-- ARGV[4] tracking notification id
-- ARGV[5] number of events
-- ARGV[6] the events, packed: for each, little-endian uint32 id length, uint64 version,
--         uint32 topic length, uint32 state length, then the id, topic and state bytes
--         (one argument per batch keeps client-side packing and argument parsing cheap)
-- Returns the notification id given to the first event minus one (0 when none are given).

local agg_prefix = ARGV[1]
local with_log = ARGV[2] == "1"
local tracking_name = ARGV[3]
local count = tonumber(ARGV[5])
local blob = ARGV[6]

if tracking_name ~= "" then
    local tracking_id = tonumber(ARGV[4])
    local current = redis.call("HGET", KEYS[4], tracking_name)
    if current and tonumber(current) >= tracking_id then
        return redis.error_reply("LHTRACKING " .. tracking_name .. " already at " .. current
            .. ", refusing " .. ARGV[4])
    end
end

local ids, versions, topics, states = {}, {}, {}, {}
local last = {}
local pos = 1
for i = 1, count do
    local id_len, version, topic_len, state_len, start = struct.unpack("<I4I8I4I4", blob, pos)
    local id = string.sub(blob, start, start + id_len - 1)
    start = start + id_len
    local topic = string.sub(blob, start, start + topic_len - 1)
    start = start + topic_len
    states[i] = string.sub(blob, start, start + state_len - 1)
    pos = start + state_len
    local previous = last[id]
    if previous == nil then
        previous = tonumber(redis.call("HGET", KEYS[3], id) or "-1")
    end
    if version <= previous then
        return redis.error_reply("LHCONFLICT " .. id .. " version " .. string.format("%d", version)
            .. " is not above last recorded version " .. string.format("%d", previous))
    end
    last[id] = version
    ids[i], versions[i], topics[i] = id, string.format("%d", version), topic
end

local base = 0
if with_log and count > 0 then
    base = redis.call("INCRBY", KEYS[1], count) - count
end

for i = 1, count do
    if with_log then
        redis.call("XADD", KEYS[2], string.format("%d-0", base + i),
            "o", ids[i], "v", versions[i], "t", topics[i], "s", states[i])
    end
    redis.call("XADD", agg_prefix .. ids[i], versions[i] .. "-1", "t", topics[i], "s", states[i])
end

for id, version in pairs(last) do
    redis.call("HSET", KEYS[3], id, string.format("%d", version))
end

if tracking_name ~= "" then
    redis.call("HSET", KEYS[4], tracking_name, ARGV[4])
end

return base

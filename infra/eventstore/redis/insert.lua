-- Atomically record a batch of stored events (and optionally a tracking record).
--
-- Everything is checked before anything is written, so a rejected batch leaves no trace:
-- Redis does not roll back a script that fails half way. The one failure no cheap check
-- foresees (a per-aggregate stream whose last id a deleted stray moved on) is met at the
-- first write, before the log or any counter changes, and the entries already added are
-- taken back.
--
-- KEYS[1] counter of the global sequence (INCRBY gives gapless notification ids)
-- KEYS[2] global stream; entry id "<notification id>-0"
-- KEYS[3] hash: originator id -> last recorded version (survives trims)
-- KEYS[4] hash: application name -> max tracking id
-- KEYS[5] the chain hash at the head of the global stream (domain/events/chain.py)
-- KEYS[6] hash: "position", "hash" of the events recorded before the chain existed
-- ARGV[1] key prefix of the per-aggregate streams (entry id "<version>-1")
-- ARGV[2] "1" to write the global stream (application recorder), "0" not to
-- ARGV[3] tracking application name, or "" for none
-- ARGV[4] tracking notification id
-- ARGV[5] number of events
-- ARGV[6] the events' ids, versions and topics, packed: for each, little-endian uint32 id
--         length, uint64 version, uint32 topic length, then the id and topic bytes (one
--         argument per batch keeps client-side packing and argument parsing cheap)
-- ARGV[7] the counter the client computed the chain from (application recorder)
-- ARGV[8] the head chain hash it read then, "" when there was none
-- ARGV[9] the events' chain hashes, 32 bytes each, in order (computed by the client: Redis
--         Lua has no SHA-256); refused unless the head is still the one they extend
-- ARGV[10] when the log holds events but no head chain hash (recorded before the chain): the
--         chain hash of those events the client computed, kept as the chain's base; else ""
-- ARGV[11..] the events' states, one argument each. This Redis' Lua hashes every byte of
--         every string it makes, so a state packed into ARGV[6] would be hashed twice: there,
--         and as the substring cut out of it; on its own it is hashed once.
-- Returns the notification id given to the first event minus one (0 when none are given).
--
-- With the log, an aggregate entry holds only its event's position (field "p"): the log entry
-- holds the record, so the state is written (and sent to the AOF) once, not twice. Without the
-- log (snapshots) the aggregate entry holds the topic and state ("t", "s").

local call, pcall_, format, sub = redis.call, redis.pcall, string.format, string.sub
local agg_prefix = ARGV[1]
local with_log = ARGV[2] == "1"
local tracking_name = ARGV[3]
local count = tonumber(ARGV[5])
local blob = ARGV[6]
if #ARGV ~= 10 + count then
    return redis.error_reply("LHBADVERSION " .. #ARGV - 10 .. " states for " .. count .. " events")
end

if tracking_name ~= "" then
    local tracking_id = tonumber(ARGV[4])
    local current = call("HGET", KEYS[4], tracking_name)
    if current and tonumber(current) >= tracking_id then
        return redis.error_reply("LHTRACKING " .. tracking_name .. " already at " .. current
            .. ", refusing " .. ARGV[4])
    end
end

-- Unpack the batch; each aggregate's stream key is built once, and the versions recorded for
-- all of them are read with one HMGET (per chunk: unpack's stack limit), not one HGET each.
local ids, versions, numbers, topics, states = {}, {}, {}, {}, {}
local key_of = {} -- originator id -> its stream key
local unique = {} -- originator ids in order of first appearance
local unpack_event = struct.unpack
local pos = 1
for i = 1, count do
    local id_len, version, topic_len, start = unpack_event("<I4I8I4", blob, pos)
    local id = sub(blob, start, start + id_len - 1)
    start = start + id_len
    pos = start + topic_len
    topics[i] = sub(blob, start, pos - 1)
    states[i] = ARGV[10 + i]
    if key_of[id] == nil then
        key_of[id] = agg_prefix .. id
        unique[#unique + 1] = id
    end
    ids[i], numbers[i], versions[i] = id, version, format("%d", version)
end

local recorded_of = {} -- originator id -> its last recorded version (-1: none)
for first = 1, #unique, 4000 do
    local chunk = {}
    for j = first, math.min(first + 3999, #unique) do
        chunk[#chunk + 1] = unique[j]
    end
    local found = call("HMGET", KEYS[3], unpack(chunk))
    for j = 1, #chunk do
        recorded_of[chunk[j]] = tonumber(found[j] or "-1")
    end
end

local last = {}
for i = 1, count do
    local id, version = ids[i], numbers[i]
    local previous = last[id] or recorded_of[id]
    if version <= previous then
        return redis.error_reply("LHCONFLICT " .. id .. " version " .. versions[i]
            .. " is not above last recorded version " .. format("%d", previous))
    end
    last[id] = version
end

-- A stream whose last id is not the one our bookkeeping expects holds an entry we did not
-- write (a stray): XADD would fail part-way, so refuse the whole batch before any write.
local function last_id(key)
    if call("EXISTS", key) == 0 then
        return nil
    end
    local info = call("XINFO", "STREAM", key)
    for j = 1, #info, 2 do
        if info[j] == "last-generated-id" then
            return info[j + 1]
        end
    end
    return nil
end

local function refuse_stray(key, expected, found)
    return redis.error_reply("LHSTRAY " .. key .. " ends at " .. found .. ", expected "
        .. expected .. ": an entry this store did not write; nothing was recorded")
end

local chain_hashes = ARGV[9]
local chain_base = ARGV[10]
local chain_counter = 0
if with_log and count > 0 then
    local counter = call("GET", KEYS[1]) or "0"
    local head = call("GET", KEYS[5]) or ""
    if tonumber(counter) ~= tonumber(ARGV[7]) or head ~= ARGV[8] then
        return redis.error_reply("LHCHAINHEAD the log head is at " .. counter
            .. ", not at " .. ARGV[7] .. " with the chain hash the batch extends")
    end
    if string.len(chain_hashes) ~= 32 * count
        or (head == "" and tonumber(counter) > 0 and string.len(chain_base) ~= 32) then
        return redis.error_reply("LHBADVERSION chain hashes do not match the batch")
    end
    chain_counter = tonumber(counter)
    local found = last_id(KEYS[2])
    local expected = format("%d-0", chain_counter)
    if found ~= nil and found ~= expected and not (chain_counter == 0 and found == "0-0") then
        return refuse_stray(KEYS[2], expected, found)
    end
end

-- Each aggregate stream must end at the entry of its last recorded version. XINFO STREAM,
-- which gives the last id XADD checks against, costs ~50 times an empty range (it copies the
-- first and last entries), once per aggregate of the batch; so the fast check is an XREVRANGE
-- for an entry after that one (from the stream's end: an XRANGE from that entry forward
-- scans its listpack node, ~6 times slower), and XINFO runs only to name what it found.
for _, id in ipairs(unique) do
    local key, recorded = key_of[id], recorded_of[id]
    if recorded < 0 then
        if call("EXISTS", key) == 1 then
            return refuse_stray(key, "no stream", last_id(key) or "?")
        end
    elseif #call("XREVRANGE", key, "+", format("(%d-1", recorded), "COUNT", 1) > 0 then
        return refuse_stray(key, format("%d-1", recorded), last_id(key) or "?")
    end
end

-- The aggregate entries go first. One can still fail: a stray added after the last recorded
-- entry and deleted again leaves the stream's last id past it. Then the entries this script
-- added are taken back (and each stream's last id set back), so nothing is left half-done.
for i = 1, count do
    local id = ids[i]
    local key = key_of[id]
    local reply
    if with_log then
        reply = pcall_("XADD", key, versions[i] .. "-1", "p", format("%d", chain_counter + i))
    else
        reply = pcall_("XADD", key, versions[i] .. "-1", "t", topics[i], "s", states[i])
    end
    if type(reply) == "table" and reply.err then
        local found = last_id(key) or "?"
        local touched = {}
        for j = 1, i - 1 do
            call("XDEL", key_of[ids[j]], versions[j] .. "-1")
            touched[ids[j]] = true
        end
        for undone in pairs(touched) do
            local recorded = recorded_of[undone]
            if recorded < 0 then
                call("DEL", key_of[undone])
            else
                call("XSETID", key_of[undone], format("%d-1", recorded))
            end
        end
        local expected = recorded_of[id] < 0 and "no stream" or format("%d-1", recorded_of[id])
        return refuse_stray(key, expected, found)
    end
end

local base = 0
if with_log and count > 0 then
    base = call("INCRBY", KEYS[1], count) - count
    local log = KEYS[2]
    for i = 1, count do
        call("XADD", log, format("%d-0", base + i), "o", ids[i], "v", versions[i],
            "t", topics[i], "s", states[i], "c", sub(chain_hashes, 32 * i - 31, 32 * i))
    end
end

-- One HSET per chunk of versions, not one per aggregate (unpack's stack limit bounds a chunk).
local recorded_versions = {}
for _, id in ipairs(unique) do
    recorded_versions[#recorded_versions + 1] = id
    recorded_versions[#recorded_versions + 1] = format("%d", last[id])
    if #recorded_versions == 2000 then
        call("HSET", KEYS[3], unpack(recorded_versions))
        recorded_versions = {}
    end
end
if #recorded_versions > 0 then
    call("HSET", KEYS[3], unpack(recorded_versions))
end

if with_log and count > 0 then
    if ARGV[8] == "" and chain_counter > 0 then
        call("HSET", KEYS[6], "position", format("%d", chain_counter), "hash", chain_base)
    end
    call("SET", KEYS[5], sub(chain_hashes, 32 * count - 31, 32 * count))
end

if tracking_name ~= "" then
    call("HSET", KEYS[4], tracking_name, ARGV[4])
end

return base

// hash_read_through.h — HGETALL, HGET and HMGET reading a missing key through its SQL route.
//
// On a miss of a key whose route answers rows (origin::Origin::ServesRows: sqlite://,
// postgres://), the command parks its reply slot on the key's singleflight flight as a reader of
// kind origin::ReadKind::kHash; the flight fills the key with the row's fields as a hash, and
// each parked command is answered from those fields (WriteHashReadReply). The same conditions
// as GET's apply: database 0 only, never inside MULTI/EXEC or a script, and not while a recent
// "not found" is remembered (negative-ttl). Any other route's miss is a plain miss.
// Callers: server/commands/hash_commands.cc (parking), server/connection.cc (the reply).
#pragma once

#include <cstddef>

#include "origin/origin.h"
#include "protocol/reply_writer.h"
#include "server/connection.h"

namespace flightcache::server {

struct CommandContext;

// Parks the current hash read of ctx.args[1] on its flight when the key reads through (see the
// top of this file): reply says which command's reply to write, and ctx.args[first_field...]
// are the fields HGET / HMGET asked for. Returns false, having done nothing, when the miss is a
// plain miss (the caller answers it as today).
bool ParkHashReadThrough(CommandContext& ctx, PendingHashRead::Reply reply, size_t first_field);

// Writes read's reply for its flight's result: the row's fields (HGETALL: a map in RESP3, a
// flat array in RESP2; HGET: the field's value or nil; HMGET: an array of those), nil or empty
// when the origin has no row, the origin's error as "-ERR origin ...", or WRONGTYPE when the
// key's flight filled a string.
void WriteHashReadReply(protocol::ReplyWriter& w, const PendingHashRead& read,
                        const origin::FetchResult& result);

}  // namespace flightcache::server

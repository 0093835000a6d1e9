// list_commands.cc — Redis's list commands (LPUSH ... LMPOP) over storage::ListObject.
//
// Every command runs with its keys' shard locks held (see server/worker.cc). A key of another
// type gets WRONGTYPE. Writes change the list inside an ObjectWrite (the KeyWatcher hears of
// them and the shard re-counts the list's bytes); a list is created by its first push and its
// key deleted with its last element, as Redis does. Every index and range argument is an
// int64 normalised without overflow. Blocking pops (BLPOP...) are in blocking_commands.cc.
// Replies and error texts are Redis 7.0's.
#include <memory>
#include <string>
#include <vector>

#include "server/command_table.h"
#include "server/command_util.h"
#include "server/server.h"
#include "server/worker.h"
#include "storage/types/quicklist.h"

namespace flightcache::server {
namespace {

using storage::Entry;
using storage::KeyLocation;
using storage::ListObject;
using storage::ObjectWrite;
using storage::ValueType;

ListObject* AsList(Entry* e) { return static_cast<ListObject*>(storage::EntryObject(e)); }

// The list entry at key for a read or an in-place write; nullptr when missing (*wrong set and
// WRONGTYPE written when the key holds another type).
Entry* ListEntry(CommandContext& ctx, std::string_view key, KeyLocation* at, bool* wrong) {
  return LookupTyped(ctx, key, ValueType::kList, at, wrong);
}

// Deletes key when its list has no element left.
void DropIfEmpty(std::string_view key, Entry* e, const KeyLocation& at) {
  if (AsList(e)->Length() == 0) at.shard->Delete(key, at.hash);
}

// Parses LEFT / RIGHT; false (with a syntax error written) otherwise.
bool ParseSide(CommandContext& ctx, std::string_view text, bool* left) {
  if (EqualsIgnoreCase(text, "left")) {
    *left = true;
  } else if (EqualsIgnoreCase(text, "right")) {
    *left = false;
  } else {
    ctx.reply.Error(kErrSyntax);
    return false;
  }
  return true;
}

// LPUSH, RPUSH, LPUSHX, RPUSHX.
void PushGeneric(CommandContext& ctx, bool left, bool only_existing) {
  KeyLocation at;
  bool wrong;
  Entry* e = ListEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    if (only_existing) {
      ctx.reply.Integer(0);
      return;
    }
    e = at.shard->SetObject(ctx.args[1], at.hash, std::make_unique<ListObject>(), 0);
  }
  const storage::TypeLimits limits = TypeLimitsOf(ctx);
  ListObject* list = AsList(e);
  {
    ObjectWrite write(*at.shard, e);
    for (size_t i = 2; i < ctx.args.size(); ++i) {
      if (left) {
        list->PushFront(ctx.args[i], limits);
      } else {
        list->PushBack(ctx.args[i], limits);
      }
    }
  }
  ctx.reply.Integer(static_cast<int64_t>(list->Length()));
}

void LpushCommand(CommandContext& ctx) { PushGeneric(ctx, true, false); }
void RpushCommand(CommandContext& ctx) { PushGeneric(ctx, false, false); }
void LpushxCommand(CommandContext& ctx) { PushGeneric(ctx, true, true); }
void RpushxCommand(CommandContext& ctx) { PushGeneric(ctx, false, true); }

// Pops up to count elements of the list at e into *out (from the left or right end), then
// deletes the key if the list is empty.
void PopInto(std::string_view key, Entry* e, const KeyLocation& at, bool left, size_t count,
             std::vector<std::string>* out) {
  {
    ObjectWrite write(*at.shard, e);
    ListObject* list = AsList(e);
    std::string v;
    for (size_t i = 0; i < count && (left ? list->PopFront(&v) : list->PopBack(&v)); ++i) {
      out->push_back(std::move(v));
    }
  }
  DropIfEmpty(key, e, at);
}

// LPOP and RPOP, with the optional count.
void PopGeneric(CommandContext& ctx, bool left) {
  if (ctx.args.size() > 3) {
    ctx.reply.Error("ERR wrong number of arguments for '" + ToLower(ctx.args[0]) + "' command");
    return;
  }
  const bool has_count = ctx.args.size() == 3;
  int64_t count = 1;
  if (has_count && (!ParseInt64(ctx.args[2], &count) || count < 0)) {
    ctx.reply.Error("ERR value is out of range, must be positive");
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ListEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    if (has_count) {
      ctx.reply.NullArray();
    } else {
      ctx.reply.Null();
    }
    return;
  }
  if (has_count && count == 0) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  std::vector<std::string> popped;
  PopInto(ctx.args[1], e, at, left, static_cast<size_t>(count), &popped);
  if (!has_count) {
    ctx.reply.Bulk(popped[0]);
    return;
  }
  ctx.reply.ArrayHeader(popped.size());
  for (const std::string& v : popped) ctx.reply.Bulk(v);
}

void LpopCommand(CommandContext& ctx) { PopGeneric(ctx, true); }
void RpopCommand(CommandContext& ctx) { PopGeneric(ctx, false); }

void LlenCommand(CommandContext& ctx) {
  KeyLocation at;
  bool wrong;
  Entry* e = ListEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  ctx.reply.Integer(e ? static_cast<int64_t>(AsList(e)->Length()) : 0);
}

// Normalises a start..end range (negatives count from the end) against a list of len
// elements, as Redis's LRANGE and LTRIM do. False when the range is empty. No overflow: len is
// at most INT64_MAX and a negative index only grows towards zero.
bool NormaliseRange(int64_t start, int64_t end, int64_t len, size_t* from, size_t* to) {
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) return false;
  if (end >= len) end = len - 1;
  *from = static_cast<size_t>(start);
  *to = static_cast<size_t>(end);
  return true;
}

void LrangeCommand(CommandContext& ctx) {
  int64_t start, end;
  if (!ParseInt64(ctx.args[2], &start) || !ParseInt64(ctx.args[3], &end)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ListEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  size_t from, to;
  if (!e || !NormaliseRange(start, end, static_cast<int64_t>(AsList(e)->Length()), &from, &to)) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  ctx.reply.ArrayHeader(to - from + 1);
  AsList(e)->ForRange(from, to, [&](std::string_view v) {
    ctx.reply.Bulk(v);
    return true;
  });
}

// An index (negative: from the end) into a list of len elements; false when out of range.
bool NormaliseIndex(int64_t index, size_t len, size_t* out) {
  const auto n = static_cast<int64_t>(len);
  if (index < 0) index = n + index;
  if (index < 0 || index >= n) return false;
  *out = static_cast<size_t>(index);
  return true;
}

void LindexCommand(CommandContext& ctx) {
  int64_t index;
  if (!ParseInt64(ctx.args[2], &index)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ListEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  size_t i;
  if (!e || !NormaliseIndex(index, AsList(e)->Length(), &i)) {
    ctx.reply.Null();
    return;
  }
  ctx.reply.Bulk(AsList(e)->At(i));
}

void LsetCommand(CommandContext& ctx) {
  int64_t index;
  if (!ParseInt64(ctx.args[2], &index)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ListEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    ctx.reply.Error(kErrNoSuchKey);
    return;
  }
  size_t i;
  if (!NormaliseIndex(index, AsList(e)->Length(), &i)) {
    ctx.reply.Error("ERR index out of range");
    return;
  }
  {
    ObjectWrite write(*at.shard, e);
    AsList(e)->Set(i, ctx.args[3], TypeLimitsOf(ctx));
  }
  ctx.reply.Ok();
}

void LinsertCommand(CommandContext& ctx) {
  bool after;
  if (EqualsIgnoreCase(ctx.args[2], "after")) {
    after = true;
  } else if (EqualsIgnoreCase(ctx.args[2], "before")) {
    after = false;
  } else {
    ctx.reply.Error(kErrSyntax);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ListEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    ctx.reply.Integer(0);
    return;
  }
  bool inserted;
  {
    ObjectWrite write(*at.shard, e);
    inserted = AsList(e)->Insert(ctx.args[3], ctx.args[4], after, TypeLimitsOf(ctx));
  }
  ctx.reply.Integer(inserted ? static_cast<int64_t>(AsList(e)->Length()) : -1);
}

void LremCommand(CommandContext& ctx) {
  int64_t count;
  if (!ParseInt64(ctx.args[2], &count)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ListEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    ctx.reply.Integer(0);
    return;
  }
  // |INT64_MIN| does not fit an int64: take the magnitude as unsigned.
  const uint64_t magnitude =
      count < 0 ? static_cast<uint64_t>(0) - static_cast<uint64_t>(count) : count;
  size_t removed;
  {
    ObjectWrite write(*at.shard, e);
    removed = AsList(e)->Remove(ctx.args[3], static_cast<size_t>(magnitude), count < 0);
  }
  DropIfEmpty(ctx.args[1], e, at);
  ctx.reply.Integer(static_cast<int64_t>(removed));
}

void LtrimCommand(CommandContext& ctx) {
  int64_t start, end;
  if (!ParseInt64(ctx.args[2], &start) || !ParseInt64(ctx.args[3], &end)) {
    ctx.reply.Error(kErrNotInteger);
    return;
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ListEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  if (!e) {
    ctx.reply.Ok();
    return;
  }
  size_t from, to;
  if (!NormaliseRange(start, end, static_cast<int64_t>(AsList(e)->Length()), &from, &to)) {
    at.shard->Delete(ctx.args[1], at.hash);  // nothing is kept
  } else {
    ObjectWrite write(*at.shard, e);
    AsList(e)->Trim(from, to);
  }
  ctx.reply.Ok();
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
void LposCommand(CommandContext& ctx) {
  int64_t rank = 1, count = -1, maxlen = 0;
  for (size_t i = 3; i < ctx.args.size(); i += 2) {
    std::string_view opt = ctx.args[i];
    if (i + 1 >= ctx.args.size()) {
      ctx.reply.Error(kErrSyntax);
      return;
    }
    int64_t v;
    const bool known = EqualsIgnoreCase(opt, "rank") || EqualsIgnoreCase(opt, "count") ||
                       EqualsIgnoreCase(opt, "maxlen");
    if (!known) {
      ctx.reply.Error(kErrSyntax);
      return;
    }
    if (!ParseInt64(ctx.args[i + 1], &v)) {
      ctx.reply.Error(kErrNotInteger);
      return;
    }
    if (EqualsIgnoreCase(opt, "rank")) {
      if (v == 0) {
        ctx.reply.Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list");
        return;
      }
      if (v == INT64_MIN) {  // its magnitude does not fit
        ctx.reply.Error("ERR value is out of range");
        return;
      }
      rank = v;
    } else if (EqualsIgnoreCase(opt, "count")) {
      if (v < 0) {
        ctx.reply.Error("ERR COUNT can't be negative");
        return;
      }
      count = v;
    } else {
      if (v < 0) {
        ctx.reply.Error("ERR MAXLEN can't be negative");
        return;
      }
      maxlen = v;
    }
  }
  KeyLocation at;
  bool wrong;
  Entry* e = ListEntry(ctx, ctx.args[1], &at, &wrong);
  if (wrong) return;
  std::vector<int64_t> matches;
  if (e) {
    const std::string_view element = ctx.args[2];
    int64_t skip = (rank < 0 ? -rank : rank) - 1;
    const size_t want = count == 0 ? SIZE_MAX : (count < 0 ? 1 : static_cast<size_t>(count));
    int64_t compared = 0;
    auto visit = [&](size_t index, std::string_view v) {
      if (maxlen != 0 && compared >= maxlen) return false;
      ++compared;
      if (v != element) return true;
      if (skip > 0) {
        --skip;
        return true;
      }
      matches.push_back(static_cast<int64_t>(index));
      return matches.size() < want;
    };
    ListObject* list = AsList(e);
    if (rank > 0) {
      size_t index = 0;
      if (list->Length() > 0) {
        list->ForRange(0, list->Length() - 1,
                       [&](std::string_view v) { return visit(index++, v); });
      }
    } else {
      list->ForEachReverse(visit);
    }
  }
  if (count < 0) {
    if (matches.empty()) {
      ctx.reply.Null();
    } else {
      ctx.reply.Integer(matches[0]);
    }
    return;
  }
  ctx.reply.ArrayHeader(matches.size());
  for (int64_t m : matches) ctx.reply.Integer(m);
}

// LMOVE / RPOPLPUSH: pops from src's side and pushes onto dst's.
void MoveGeneric(CommandContext& ctx, bool from_left, bool to_left) {
  std::string_view src = ctx.args[1], dst = ctx.args[2];
  KeyLocation src_at, dst_at;
  bool wrong;
  Entry* s = ListEntry(ctx, src, &src_at, &wrong);
  if (wrong) return;
  if (!s) {
    ctx.reply.Null();
    return;
  }
  Entry* d = ListEntry(ctx, dst, &dst_at, &wrong);
  if (wrong) return;
  std::string value;
  {
    ObjectWrite write(*src_at.shard, s);
    if (from_left) {
      AsList(s)->PopFront(&value);
    } else {
      AsList(s)->PopBack(&value);
    }
  }
  if (src == dst) {
    d = s;
  } else if (!d) {
    d = dst_at.shard->SetObject(dst, dst_at.hash, std::make_unique<ListObject>(), 0);
  }
  {
    ObjectWrite write(*dst_at.shard, d);
    if (to_left) {
      AsList(d)->PushFront(value, TypeLimitsOf(ctx));
    } else {
      AsList(d)->PushBack(value, TypeLimitsOf(ctx));
    }
  }
  if (src != dst) DropIfEmpty(src, s, src_at);
  ctx.reply.Bulk(value);
}

void LmoveCommand(CommandContext& ctx) {
  bool from_left, to_left;
  if (!ParseSide(ctx, ctx.args[3], &from_left) || !ParseSide(ctx, ctx.args[4], &to_left)) return;
  MoveGeneric(ctx, from_left, to_left);
}

void RpoplpushCommand(CommandContext& ctx) { MoveGeneric(ctx, false, true); }

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count].
void LmpopCommand(CommandContext& ctx) {
  int64_t numkeys;
  if (!ParseInt64(ctx.args[1], &numkeys) || numkeys <= 0) {
    ctx.reply.Error("ERR numkeys should be greater than 0");
    return;
  }
  const size_t argc = ctx.args.size();
  if (static_cast<uint64_t>(numkeys) >= argc - 2) {  // no room left for LEFT|RIGHT
    ctx.reply.Error(kErrSyntax);
    return;
  }
  const size_t side_index = 2 + static_cast<size_t>(numkeys);
  bool left;
  if (!ParseSide(ctx, ctx.args[side_index], &left)) return;
  int64_t count = -1;
  for (size_t j = side_index + 1; j < argc; ++j) {
    if (count == -1 && EqualsIgnoreCase(ctx.args[j], "count") && j + 1 < argc) {
      ++j;
      if (!ParseInt64(ctx.args[j], &count) || count <= 0) {
        ctx.reply.Error("ERR count should be greater than 0");
        return;
      }
    } else {
      ctx.reply.Error(kErrSyntax);
      return;
    }
  }
  if (count == -1) count = 1;
  for (size_t k = 2; k < side_index; ++k) {
    KeyLocation at;
    bool wrong;
    Entry* e = ListEntry(ctx, ctx.args[k], &at, &wrong);
    if (wrong) return;
    if (!e) continue;
    std::vector<std::string> popped;
    PopInto(ctx.args[k], e, at, left, static_cast<size_t>(count), &popped);
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(ctx.args[k]);
    ctx.reply.ArrayHeader(popped.size());
    for (const std::string& v : popped) ctx.reply.Bulk(v);
    return;
  }
  ctx.reply.NullArray();
}

}  // namespace

void RegisterListCommands(CommandTable& t) {
  const uint32_t kRead = kReadOnly | kFast;
  const uint32_t kWriteFast = kWrite | kDenyOom | kFast;
  t.Add({"lpush", -3, kWriteFast, 1, 1, 1, LpushCommand, "list",
         "Prepends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0"});
  t.Add({"rpush", -3, kWriteFast, 1, 1, 1, RpushCommand, "list",
         "Appends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0"});
  t.Add({"lpushx", -3, kWriteFast, 1, 1, 1, LpushxCommand, "list",
         "Prepends one or more elements to a list only when the list exists.", "2.2.0"});
  t.Add({"rpushx", -3, kWriteFast, 1, 1, 1, RpushxCommand, "list",
         "Appends an element to a list only when the list exists.", "2.2.0"});
  t.Add({"lpop", -2, kWrite | kFast, 1, 1, 1, LpopCommand, "list",
         "Returns the first elements in a list after removing it. Deletes the list if the last "
         "element was popped.",
         "1.0.0"});
  t.Add({"rpop", -2, kWrite | kFast, 1, 1, 1, RpopCommand, "list",
         "Returns and removes the last elements of a list. Deletes the list if the last element "
         "was popped.",
         "1.0.0"});
  t.Add({"llen", 2, kRead, 1, 1, 1, LlenCommand, "list", "Returns the length of a list.", "1.0.0"});
  t.Add({"lrange", 4, kReadOnly, 1, 1, 1, LrangeCommand, "list",
         "Returns a range of elements from a list.", "1.0.0"});
  t.Add({"lindex", 3, kReadOnly, 1, 1, 1, LindexCommand, "list",
         "Returns an element from a list by its index.", "1.0.0"});
  t.Add({"lset", 4, kWrite | kDenyOom, 1, 1, 1, LsetCommand, "list",
         "Sets the value of an element in a list by its index.", "1.0.0"});
  t.Add({"linsert", 5, kWrite | kDenyOom, 1, 1, 1, LinsertCommand, "list",
         "Inserts an element before or after another element in a list.", "2.2.0"});
  t.Add(
      {"lrem", 4, kWrite, 1, 1, 1, LremCommand, "list", "Removes elements from a list.", "1.0.0"});
  t.Add({"ltrim", 4, kWrite, 1, 1, 1, LtrimCommand, "list",
         "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
         "1.0.0"});
  t.Add({"lpos", -3, kReadOnly, 1, 1, 1, LposCommand, "list",
         "Returns the index of matching elements in a list.", "6.0.6"});
  t.Add({"lmove", 5, kWrite | kDenyOom, 1, 2, 1, LmoveCommand, "list",
         "Returns an element after popping it from one list and pushing it to another. Deletes "
         "the list if the last element was moved.",
         "6.2.0"});
  t.Add({"rpoplpush", 3, kWrite | kDenyOom, 1, 2, 1, RpoplpushCommand, "list",
         "Returns the last element of a list after removing and pushing it to another list. "
         "Deletes the list if the last element was popped.",
         "1.2.0"});
  t.Add({"lmpop", -4, kWrite | kMovableKeys, 2, -1, 1, LmpopCommand, "list",
         "Returns multiple elements from a list after removing them. Deletes the list if the last "
         "element was popped.",
         "7.0.0"});
}

}  // namespace flightcache::server

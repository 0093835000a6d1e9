// sql_result.h — what the SQL origin kinds share to turn a row into a value: JSON text for a
// row of several columns, base64 for binary columns inside it, the row's fields for a hash read
// (FetchResult::fields), and the several-rows error.
// Callers: sqlite_origin.cc, postgres_origin.cc (see the mapping in sqlite_origin.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "origin/origin.h"

namespace flightcache::origin {

// Appends text as a JSON string: quotes, backslashes and control bytes escaped; other bytes
// (UTF-8 text) as they are.
void AppendJsonString(std::string* out, std::string_view text);

// Standard base64 with padding.
std::string Base64(std::string_view bytes);

// Makes fields' column names unique as HSET would: a name given twice keeps its first place and
// its last value. O(n log n) in the number of columns, so a row of a thousand stays cheap.
void MergeDuplicateColumns(std::vector<RowField>* fields);

// The error for a query that returned more than one row; count is "3" or "more than 1000".
FetchResult TooManyRows(const std::string& count);

}  // namespace flightcache::origin

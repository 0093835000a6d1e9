// object.cc — names of the value types (see object.h).
#include "storage/types/object.h"

namespace flightcache::storage {

const char* TypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kList:
      return "list";
    case ValueType::kSet:
      return "set";
    case ValueType::kZset:
      return "zset";
    case ValueType::kHash:
      return "hash";
  }
  return "none";
}

}  // namespace flightcache::storage

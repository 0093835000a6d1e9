// main.cc — doctest's main for integration_tests. Each test starts its own flightcache from
// $FLIGHTCACHE_BIN (see server_process.h), so tests share no server state.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

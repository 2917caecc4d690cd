// Early return of a failed result inside a decoder: the codec's `?` operator (.cpp files only).
#pragma once

#include <utility>

#define SLUICE_TRY_CONCAT_INNER(a, b) a##b
#define SLUICE_TRY_CONCAT(a, b) SLUICE_TRY_CONCAT_INNER(a, b)

// SLUICE_TRY(auto x, reader.u8());  or  SLUICE_TRY(msg.field, reader.u16());
#define SLUICE_TRY(lhs, expr) SLUICE_TRY_IMPL(SLUICE_TRY_CONCAT(sluice_try_, __LINE__), lhs, expr)
#define SLUICE_TRY_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                    \
  if (!tmp) return tmp.error();         \
  lhs = *std::move(tmp)

// Error-message assembly for route-mode setup code, shared by its files
// (one definition, so that a unity build of them compiles). One append per piece:
// GCC 12 at -O3 raises a false -Wrestrict on `"literal" + std::string&&`
// (GCC PR 105329), which -Werror turns into a failed release build.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace ferry::route {

inline std::string cat(std::initializer_list<std::string_view> pieces) {
  size_t size = 0;
  for (std::string_view p : pieces) size += p.size();
  std::string out;
  out.reserve(size);
  for (std::string_view p : pieces) out.append(p);
  return out;
}

// Stores `message` where the caller asked for errors (a null `error`: it did not).
inline void setError(std::string* error, std::string message) {
  if (error) *error = std::move(message);
}

}  // namespace ferry::route

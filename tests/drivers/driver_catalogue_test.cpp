// The driver catalogue against what CMake registers with ctest, and its naming rules.
#include "tests/drivers/driver_catalogue.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#ifndef SLUICE_DRIVERS_REGISTERED
#error "SLUICE_DRIVERS_REGISTERED must list the drivers tests/drivers/CMakeLists.txt registers"
#endif

namespace sluice::test {
namespace {

bool is_identifier(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// ctest runs a driver's cases with the filter `<name>_*`: a driver whose name starts another's
// name and an underscore would run the other's cases too.
TEST(DriverCatalogueTest, CMakeRegistersEveryDriverOnce) {
  std::set<std::string> registered;
  std::istringstream list(SLUICE_DRIVERS_REGISTERED);
  for (std::string name; std::getline(list, name, ',');) {
    EXPECT_TRUE(registered.insert(name).second) << name << " registered twice";
  }
  std::set<std::string> catalogued;
  for (const auto& program : driver_programs()) catalogued.insert(program.name);
  EXPECT_EQ(registered, catalogued)
      << "SLUICE_DRIVER_PROGRAMS in tests/drivers/CMakeLists.txt and driver_catalogue.cpp differ";
  for (const auto& a : catalogued) {
    for (const auto& b : catalogued) {
      EXPECT_FALSE(a != b && b.rfind(a + "_", 0) == 0)
          << "the ctest filter of " << a << " would also run " << b;
    }
  }
}

TEST(DriverCatalogueTest, NamesAreIdentifiersAndDefaultsComeFirst) {
  for (const auto& program : driver_programs()) {
    EXPECT_TRUE(is_identifier(program.name)) << program.name;
    ASSERT_FALSE(program.variants.empty()) << program.name;
    EXPECT_EQ(program.variants.front(), "default") << program.name;
    std::set<std::string> seen;
    for (const auto& variant : program.variants) {
      EXPECT_TRUE(is_identifier(variant)) << program.name << " variant " << variant;
      EXPECT_TRUE(seen.insert(variant).second) << program.name << " variant " << variant;
    }
    EXPECT_FALSE(program.command.empty()) << program.name;
  }
}

}  // namespace
}  // namespace sluice::test

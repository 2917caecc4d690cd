// The driver programs of the matrix: how each is run, what it needs installed, its variants.
#include "tests/drivers/driver_catalogue.h"

#include <filesystem>
#include <stdexcept>

#include "tests/support/child_process.h"

#ifndef SLUICE_DRIVERS_SOURCE_DIR
#error "SLUICE_DRIVERS_SOURCE_DIR must be the tests/drivers source folder"
#endif
#ifndef SLUICE_DRIVERS_BUILD_DIR
#error "SLUICE_DRIVERS_BUILD_DIR must be where the Java and Go programs are built"
#endif

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

const std::string source_dir = SLUICE_DRIVERS_SOURCE_DIR;
const std::string build_dir = SLUICE_DRIVERS_BUILD_DIR;
const std::string node_modules = source_dir + "/node/node_modules/";
// Debian's Connector/J (libmariadb-java).
const std::string connector_j_jar = "/usr/share/java/mariadb-java-client.jar";
// Debian's own interpreter: the Debian driver packages install into its dist-packages, and
// another python3 may come first in PATH.
const std::string debian_python = "/usr/bin/python3";

bool package_installed(const std::string& package) {
  const command_result query =
      run_command({find_program("dpkg-query"), "-W", "-f=${db:Status-Status}", package}, 30s);
  return query.status == 0 && query.output == "installed";
}

}  // namespace

const std::vector<driver_program>& driver_programs() {
  static const std::vector<driver_program> programs = {
      {"node_mysql2",
       {"default", "utf8mb4_general_ci", "compress"},
       {},
       {node_modules + "mysql2/package.json"},
       {"node", source_dir + "/node/mysql2.js"}},
      {"node_mariadb",
       {"default", "utf8mb4_general_ci", "pipelining_off"},
       {},
       {node_modules + "mariadb/package.json"},
       {"node", source_dir + "/node/mariadb.js"}},
      {"node_mysql",
       {"default", "utf8mb4_unicode_ci"},
       {},
       {node_modules + "mysql/package.json"},
       {"node", source_dir + "/node/mysql.js"}},
      {"pymysql",
       {"default", "autocommit_on"},
       {"python3", "python3-pymysql"},
       {},
       {debian_python, source_dir + "/python/pymysql_scenario.py"}},
      {"mysqlclient",
       {"default", "utf8mb4"},
       {"python3", "python3-mysqldb"},
       {},
       {debian_python, source_dir + "/python/mysqlclient_scenario.py"}},
      {"php_mysqli",
       {"default"},
       {"php-cli", "php-mysql"},
       {},
       {"php", source_dir + "/php/mysqli.php"}},
      {"php_pdo_mysql",
       {"default", "server_prepares"},
       {"php-cli", "php-mysql"},
       {},
       {"php", source_dir + "/php/pdo_mysql.php"}},
      {"perl_dbd_mariadb",
       {"default", "server_prepare"},
       {"libdbd-mariadb-perl"},
       {},
       {"perl", source_dir + "/perl/dbd_mariadb.pl"}},
      {"connector_j",
       {"default", "server_prepare"},
       {"libmariadb-java", "default-jdk-headless"},
       {build_dir + "/java/ConnectorJ.class"},
       {"java", "-cp", build_dir + "/java:" + connector_j_jar, "ConnectorJ"}},
      {"go_sql_driver",
       {"default", "interpolate_params"},
       {"golang-go", "golang-github-go-sql-driver-mysql-dev"},
       {build_dir + "/go/go_sql_driver"},
       {build_dir + "/go/go_sql_driver"}},
      {"ruby_mysql2",
       {"default", "utf8mb4"},
       {"ruby", "ruby-mysql2"},
       {},
       {"ruby", source_dir + "/ruby/mysql2.rb"}},
      {"mariadb_cli",
       {"default", "compress"},
       {"mariadb-client"},
       {},
       {"bash", source_dir + "/cli/mariadb_cli.sh"}},
  };
  return programs;
}

const std::vector<std::string>& scenario_steps() {
  static const std::vector<std::string> steps = {"login",
                                                 "select_1",
                                                 "insert_id",
                                                 "prepared",
                                                 "client_parameters",
                                                 "transaction_commit",
                                                 "transaction_rollback",
                                                 "utf8mb4",
                                                 "multi_statements",
                                                 "call_procedure",
                                                 "ping",
                                                 "reset_connection",
                                                 "change_user",
                                                 "value_5mb",
                                                 "error_1146",
                                                 "close"};
  return steps;
}

std::string missing_runtime(const driver_program& program) {
  for (const auto& package : program.debian_packages) {
    if (!package_installed(package)) return "Debian package " + package + " is not installed";
  }
  for (const auto& file : program.required_files) {
    if (!std::filesystem::exists(file)) return file + " does not exist";
  }
  const std::string& runtime = program.command.front();
  if (runtime.find('/') == std::string::npos) {
    try {
      find_program(runtime);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
  } else if (!std::filesystem::exists(runtime)) {
    return runtime + " does not exist";
  }
  return "";
}

}  // namespace sluice::test

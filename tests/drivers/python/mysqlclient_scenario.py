"""The driver-matrix scenario with mysqlclient (MySQLdb, Debian's python3-mysqldb): text protocol only."""

import MySQLdb
from MySQLdb.constants import CLIENT

import dbapi_scenario

# Variants: the driver's defaults (autocommit off, the charset Connector/C negotiated), and
# charset="utf8mb4".
VARIANTS = {"default": {}, "utf8mb4": {"charset": "utf8mb4"}}


def change_user(conn, user, password, database):
    conn.change_user(user, password, database)


def main():
    t = dbapi_scenario.target()
    if t["variant"] not in VARIANTS:
        raise RuntimeError("unknown variant %s" % t["variant"])

    def connect(**extra):
        options = dict(host=t["host"], port=t["port"], user=t["user"], password=t["password"],
                       database=t["database"], connect_timeout=10, read_timeout=60)
        options.update(VARIANTS[t["variant"]])
        options.update(extra)
        return MySQLdb.connect(**options)

    driver = dbapi_scenario.Driver()
    driver.name = "mysqlclient"
    driver.connect = connect
    driver.connect_observer = lambda: connect(autocommit=True)
    # mysqlclient turns CLIENT_MULTI_STATEMENTS on for client libraries numbered 4.1 and later:
    # Connector/C 3.x is numbered below that, so it has to be asked for.
    driver.connect_multi = lambda: connect(client_flag=CLIENT.MULTI_STATEMENTS | CLIENT.MULTI_RESULTS)
    driver.multi_statements_option = "client_flag=CLIENT.MULTI_STATEMENTS | CLIENT.MULTI_RESULTS"
    driver.error_number = lambda error: error.args[0] if isinstance(error, MySQLdb.MySQLError) and error.args else None
    driver.ping = lambda conn: conn.ping()
    driver.reset_missing = "mysqlclient 1.4 has no COM_RESET_CONNECTION"
    driver.change_user = change_user
    dbapi_scenario.run(driver, t)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        print("FAIL setup: %s" % error)
        raise SystemExit(2)

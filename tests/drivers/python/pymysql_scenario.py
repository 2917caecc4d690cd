"""The driver-matrix scenario with PyMySQL (Debian's python3-pymysql): text protocol only."""

import pymysql
from pymysql.constants import CLIENT

import dbapi_scenario

# Variants: the driver's defaults (autocommit off, as PEP 249 asks), and autocommit=True.
VARIANTS = {"default": {}, "autocommit_on": {"autocommit": True}}


def main():
    t = dbapi_scenario.target()
    if t["variant"] not in VARIANTS:
        raise RuntimeError("unknown variant %s" % t["variant"])

    def connect(**extra):
        options = dict(host=t["host"], port=t["port"], user=t["user"], password=t["password"],
                       database=t["database"], connect_timeout=10, read_timeout=60)
        options.update(VARIANTS[t["variant"]])
        options.update(extra)
        return pymysql.connect(**options)

    driver = dbapi_scenario.Driver()
    driver.name = "PyMySQL"
    driver.connect = connect
    driver.connect_observer = lambda: connect(autocommit=True)
    driver.connect_multi = lambda: connect(client_flag=CLIENT.MULTI_STATEMENTS)
    driver.multi_statements_option = "client_flag=CLIENT.MULTI_STATEMENTS"
    driver.error_number = lambda error: error.args[0] if isinstance(error, pymysql.MySQLError) and error.args else None
    driver.ping = lambda conn: conn.ping(reconnect=False)
    driver.reset_missing = "PyMySQL has no COM_RESET_CONNECTION"
    driver.change_user_missing = "PyMySQL has no COM_CHANGE_USER"
    dbapi_scenario.run(driver, t)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        print("FAIL setup: %s" % error)
        raise SystemExit(2)

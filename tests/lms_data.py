"""An LMS database for the import tests and bench: the tables and columns WBOK reads, as in
LMS's doc/lms.pgsql (and its MySQL twin doc/lms.mysql), filled with LMS-shaped data.

`create(url)` makes a fresh database on PostgreSQL or MariaDB, loads the DDL and returns an
`Lms` handle whose `execute(sql)` runs portable SQL on it (integer times, integer IPv4,
plain-text PINs, numeric(9,2) money: as LMS writes them)."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")
PG_URL = os.environ.get("WBOK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_URL = os.environ.get("WBOK_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql")

# The subset of doc/lms.pgsql that the import reads, column types and defaults as there.
PG_DDL = """
CREATE SEQUENCE taxes_id_seq;
CREATE TABLE taxes (
    id integer DEFAULT nextval('taxes_id_seq'::text) NOT NULL,
    value numeric(4,2) DEFAULT 0 NOT NULL,
    taxed smallint DEFAULT 0 NOT NULL,
    label varchar(16) DEFAULT '' NOT NULL,
    validfrom integer DEFAULT 0 NOT NULL,
    validto integer DEFAULT 0 NOT NULL,
    reversecharge smallint DEFAULT 0 NOT NULL,
    PRIMARY KEY (id)
);
CREATE SEQUENCE numberplans_id_seq;
CREATE TABLE numberplans (
    id integer DEFAULT nextval('numberplans_id_seq'::text) NOT NULL,
    template varchar(255) DEFAULT '' NOT NULL,
    period smallint DEFAULT 0 NOT NULL,
    doctype integer DEFAULT 0 NOT NULL,
    isdefault smallint DEFAULT 0 NOT NULL,
    PRIMARY KEY (id)
);
CREATE SEQUENCE addresses_id_seq;
CREATE TABLE addresses (
    id integer DEFAULT nextval('addresses_id_seq'::text) NOT NULL,
    name text NULL,
    state varchar(64) NULL,
    city varchar(100) NULL,
    postoffice varchar(32) DEFAULT NULL,
    street varchar(255) NULL,
    zip varchar(10) NULL,
    house varchar(20) NULL,
    flat varchar(20) NULL,
    PRIMARY KEY (id)
);
CREATE SEQUENCE customers_id_seq;
CREATE TABLE customers (
    id integer DEFAULT nextval('customers_id_seq'::text) NOT NULL,
    extid varchar(32) DEFAULT '' NOT NULL,
    lastname varchar(128) DEFAULT '' NOT NULL,
    name varchar(128) DEFAULT '' NOT NULL,
    status smallint DEFAULT 0 NOT NULL,
    type smallint DEFAULT 0 NOT NULL,
    ten varchar(50) DEFAULT '' NOT NULL,
    ssn varchar(50) DEFAULT '' NOT NULL,
    regon varchar(255) DEFAULT '' NOT NULL,
    info text DEFAULT '' NOT NULL,
    notes text DEFAULT '' NOT NULL,
    creationdate integer DEFAULT 0 NOT NULL,
    moddate integer DEFAULT 0 NOT NULL,
    deleted smallint DEFAULT 0 NOT NULL,
    message text DEFAULT '' NOT NULL,
    pin varchar(255) DEFAULT 0 NOT NULL,
    cutoffstop integer DEFAULT 0 NOT NULL,
    divisionid integer DEFAULT NULL,
    paytime smallint DEFAULT -1 NOT NULL,
    paytype smallint DEFAULT NULL,
    flags smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE TABLE customerconsents (
    customerid integer NOT NULL REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE,
    cdate integer DEFAULT 0 NOT NULL,
    type smallint NOT NULL,
    CONSTRAINT customerconsents_ukey UNIQUE (customerid, type)
);
CREATE SEQUENCE customer_addresses_id_seq;
CREATE TABLE customer_addresses (
    id integer DEFAULT nextval('customer_addresses_id_seq'::text) NOT NULL,
    customer_id integer REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE,
    address_id integer REFERENCES addresses (id) ON DELETE CASCADE ON UPDATE CASCADE,
    type smallint NULL,
    PRIMARY KEY (id),
    UNIQUE (customer_id, address_id)
);
CREATE SEQUENCE customercontacts_id_seq;
CREATE TABLE customercontacts (
    id integer DEFAULT nextval('customercontacts_id_seq'::text) NOT NULL,
    customerid integer NOT NULL REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE,
    name varchar(10000) NOT NULL DEFAULT '',
    contact varchar(255) NOT NULL DEFAULT '',
    type integer DEFAULT NULL,
    PRIMARY KEY (id)
);
CREATE SEQUENCE tariffs_id_seq;
CREATE TABLE tariffs (
    id integer DEFAULT nextval('tariffs_id_seq'::text) NOT NULL,
    name varchar(255) DEFAULT '' NOT NULL,
    type smallint DEFAULT 1 NOT NULL,
    value numeric(9,2) DEFAULT 0 NOT NULL,
    taxcategory smallint DEFAULT 0 NOT NULL,
    period smallint DEFAULT NULL,
    taxid integer NOT NULL REFERENCES taxes (id) ON DELETE CASCADE ON UPDATE CASCADE,
    numberplanid integer DEFAULT NULL REFERENCES numberplans (id) ON DELETE CASCADE ON UPDATE CASCADE,
    prodid varchar(255) DEFAULT '' NOT NULL,
    uprate integer DEFAULT 0 NOT NULL,
    upceil integer DEFAULT 0 NOT NULL,
    downrate integer DEFAULT 0 NOT NULL,
    downceil integer DEFAULT 0 NOT NULL,
    description text DEFAULT '' NOT NULL,
    disabled smallint DEFAULT 0 NOT NULL,
    datefrom integer NOT NULL DEFAULT 0,
    dateto integer NOT NULL DEFAULT 0,
    currency varchar(3),
    flags smallint DEFAULT 0 NOT NULL,
    netvalue numeric(9,2) DEFAULT NULL,
    PRIMARY KEY (id),
    CONSTRAINT tariffs_name_key UNIQUE (name, value, currency, period)
);
CREATE SEQUENCE assignments_id_seq;
CREATE TABLE assignments (
    id integer default nextval('assignments_id_seq'::text) NOT NULL,
    tariffid integer DEFAULT NULL REFERENCES tariffs (id) ON DELETE CASCADE ON UPDATE CASCADE,
    liabilityid integer DEFAULT NULL,
    customerid integer NOT NULL REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE,
    period smallint DEFAULT 0 NOT NULL,
    backwardperiod smallint DEFAULT 0 NOT NULL,
    at integer DEFAULT 0 NOT NULL,
    datefrom integer DEFAULT 0 NOT NULL,
    dateto integer DEFAULT 0 NOT NULL,
    invoice smallint DEFAULT 0 NOT NULL,
    suspended smallint DEFAULT 0 NOT NULL,
    settlement smallint DEFAULT 0 NOT NULL,
    pdiscount numeric(5,2) DEFAULT 0 NOT NULL,
    vdiscount numeric(9,2) DEFAULT 0 NOT NULL,
    paytype smallint DEFAULT NULL,
    numberplanid integer DEFAULT NULL REFERENCES numberplans (id) ON DELETE SET NULL ON UPDATE CASCADE,
    count numeric(9,3) DEFAULT 1 NOT NULL,
    PRIMARY KEY (id)
);
CREATE SEQUENCE nodes_id_seq;
CREATE TABLE nodes (
    id integer DEFAULT nextval('nodes_id_seq'::text) NOT NULL,
    name varchar(32) DEFAULT '' NOT NULL,
    login varchar(128) DEFAULT NULL,
    ipaddr bigint DEFAULT 0 NOT NULL,
    ipaddr_pub bigint DEFAULT 0 NOT NULL,
    passwd varchar(32) DEFAULT '' NOT NULL,
    ownerid integer DEFAULT NULL REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE,
    creationdate integer DEFAULT 0 NOT NULL,
    moddate integer DEFAULT 0 NOT NULL,
    access smallint DEFAULT 1 NOT NULL,
    warning smallint DEFAULT 0 NOT NULL,
    info text DEFAULT '' NOT NULL,
    netid integer DEFAULT 0 NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (name),
    UNIQUE (ipaddr, netid)
);
CREATE SEQUENCE macs_id_seq;
CREATE TABLE macs (
    id integer DEFAULT nextval('macs_id_seq'::text) NOT NULL,
    mac varchar(17) DEFAULT '' NOT NULL,
    nodeid integer NOT NULL REFERENCES nodes (id) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (id),
    CONSTRAINT macs_mac_key UNIQUE (mac, nodeid)
);
CREATE SEQUENCE documents_id_seq;
CREATE TABLE documents (
    id integer DEFAULT nextval('documents_id_seq'::text) NOT NULL,
    type smallint DEFAULT 0 NOT NULL,
    number integer DEFAULT 0 NOT NULL,
    numberplanid integer DEFAULT NULL REFERENCES numberplans (id) ON DELETE SET NULL ON UPDATE CASCADE,
    extnumber varchar(255) DEFAULT '' NOT NULL,
    cdate integer DEFAULT 0 NOT NULL,
    sdate integer DEFAULT 0 NOT NULL,
    customerid integer DEFAULT NULL REFERENCES customers (id) ON DELETE SET NULL ON UPDATE CASCADE,
    name varchar(255) DEFAULT '' NOT NULL,
    address varchar(255) DEFAULT '' NOT NULL,
    zip varchar(10) NULL DEFAULT NULL,
    city varchar(100) NULL DEFAULT NULL,
    ten varchar(50) DEFAULT '' NOT NULL,
    ssn varchar(50) DEFAULT '' NOT NULL,
    paytime smallint DEFAULT 0 NOT NULL,
    paytype smallint DEFAULT NULL,
    closed smallint DEFAULT 0 NOT NULL,
    reference integer DEFAULT NULL REFERENCES documents (id) ON DELETE SET NULL ON UPDATE CASCADE,
    reason varchar(255) DEFAULT '' NOT NULL,
    div_name text DEFAULT '' NOT NULL,
    div_shortname text DEFAULT '' NOT NULL,
    div_address varchar(255) DEFAULT '' NOT NULL,
    div_city varchar(255) DEFAULT '' NOT NULL,
    div_zip varchar(255) DEFAULT '' NOT NULL,
    div_ten varchar(255) DEFAULT '' NOT NULL,
    div_regon varchar(255) DEFAULT '' NOT NULL,
    div_bank varchar(100) DEFAULT NULL,
    div_account varchar(48) DEFAULT '' NOT NULL,
    fullnumber varchar(50) DEFAULT NULL,
    cancelled smallint DEFAULT 0 NOT NULL,
    published smallint DEFAULT 0 NOT NULL,
    comment text DEFAULT NULL,
    currency varchar(3),
    currencyvalue numeric(17,10) DEFAULT 1.0,
    flags smallint DEFAULT 0 NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX documents_customerid_idx ON documents(customerid);
CREATE TABLE invoicecontents (
    docid integer NOT NULL REFERENCES documents (id) ON DELETE CASCADE ON UPDATE CASCADE,
    itemid smallint DEFAULT 0 NOT NULL,
    value numeric(12,5) DEFAULT 0 NOT NULL,
    taxid integer NOT NULL REFERENCES taxes (id) ON DELETE CASCADE ON UPDATE CASCADE,
    prodid varchar(255) DEFAULT '' NOT NULL,
    content varchar(16) DEFAULT '' NOT NULL,
    count numeric(9,3) DEFAULT 0 NOT NULL,
    description text DEFAULT '' NOT NULL,
    tariffid integer DEFAULT NULL REFERENCES tariffs (id) ON DELETE SET NULL ON UPDATE CASCADE,
    pdiscount numeric(5,2) DEFAULT 0 NOT NULL,
    vdiscount numeric(9,2) DEFAULT 0 NOT NULL,
    taxcategory smallint DEFAULT 0 NOT NULL,
    period smallint DEFAULT 3
);
CREATE INDEX invoicecontents_docid_idx ON invoicecontents (docid);
CREATE SEQUENCE cash_id_seq;
CREATE TABLE cash (
    id integer DEFAULT nextval('cash_id_seq'::text) NOT NULL,
    time integer DEFAULT 0 NOT NULL,
    type smallint DEFAULT 0 NOT NULL,
    servicetype smallint DEFAULT NULL,
    userid integer DEFAULT NULL,
    value numeric(9,2) DEFAULT 0 NOT NULL,
    taxid integer DEFAULT NULL REFERENCES taxes (id) ON DELETE SET NULL ON UPDATE CASCADE,
    customerid integer DEFAULT NULL REFERENCES customers (id) ON DELETE SET NULL ON UPDATE CASCADE,
    comment text DEFAULT '' NOT NULL,
    docid integer DEFAULT NULL REFERENCES documents (id) ON DELETE CASCADE ON UPDATE CASCADE,
    itemid smallint DEFAULT 0 NOT NULL,
    importid integer DEFAULT NULL,
    sourceid integer DEFAULT NULL,
    currency varchar(3),
    currencyvalue numeric(17,10) DEFAULT 1.0,
    PRIMARY KEY (id)
);
CREATE INDEX cash_customerid_idx ON cash (customerid);
CREATE SEQUENCE rtqueues_id_seq;
CREATE TABLE rtqueues (
    id integer default nextval('rtqueues_id_seq'::text) NOT NULL,
    name varchar(255) DEFAULT '' NOT NULL,
    email varchar(255) DEFAULT '' NOT NULL,
    description text DEFAULT '' NOT NULL,
    deleted smallint DEFAULT 0 NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (name)
);
CREATE SEQUENCE rttickets_id_seq;
CREATE TABLE rttickets (
    id integer default nextval('rttickets_id_seq'::text) NOT NULL,
    queueid integer NOT NULL REFERENCES rtqueues (id) ON DELETE CASCADE ON UPDATE CASCADE,
    requestor varchar(255) DEFAULT NULL,
    subject varchar(255) DEFAULT '' NOT NULL,
    state smallint DEFAULT 0 NOT NULL,
    cause smallint DEFAULT 0 NOT NULL,
    owner integer DEFAULT NULL,
    customerid integer DEFAULT NULL REFERENCES customers (id) ON DELETE SET NULL ON UPDATE CASCADE,
    creatorid integer DEFAULT NULL,
    createtime integer DEFAULT 0 NOT NULL,
    resolvetime integer DEFAULT 0 NOT NULL,
    modtime integer NOT NULL DEFAULT 0,
    source smallint DEFAULT 0 NOT NULL,
    priority smallint DEFAULT NULL,
    deleted smallint DEFAULT 0 NOT NULL,
    PRIMARY KEY (id)
);
CREATE SEQUENCE rtmessages_id_seq;
CREATE TABLE rtmessages (
    id integer default nextval('rtmessages_id_seq'::text) NOT NULL,
    ticketid integer NOT NULL REFERENCES rttickets (id) ON DELETE CASCADE ON UPDATE CASCADE,
    userid integer DEFAULT NULL,
    customerid integer DEFAULT NULL REFERENCES customers (id) ON DELETE SET NULL ON UPDATE CASCADE,
    mailfrom varchar(255) DEFAULT '' NOT NULL,
    subject varchar(255) DEFAULT '' NOT NULL,
    body text DEFAULT '' NOT NULL,
    createtime integer DEFAULT 0 NOT NULL,
    type integer DEFAULT 0 NOT NULL,
    deleted smallint DEFAULT 0 NOT NULL,
    contenttype varchar(255) DEFAULT 'text/plain',
    PRIMARY KEY (id)
);
CREATE TABLE stats (
    nodeid integer DEFAULT NULL REFERENCES nodes (id) ON DELETE SET NULL ON UPDATE CASCADE,
    dt integer DEFAULT 0 NOT NULL,
    upload bigint DEFAULT 0,
    download bigint DEFAULT 0,
    nodesessionid integer DEFAULT NULL,
    CONSTRAINT stats_nodeid_dt_key UNIQUE (nodeid, dt)
);
"""


def mysql_ddl() -> str:
    """The same tables as doc/lms.mysql has them: int(11) AUTO_INCREMENT keys, decimal
    money, InnoDB with utf8mb4."""
    out = []
    for statement in PG_DDL.split(";"):
        s = statement.strip()
        if not s or s.startswith("CREATE SEQUENCE"):
            continue
        if s.startswith("CREATE TABLE"):
            s = s.replace("integer DEFAULT nextval", "int(11) NOT NULL AUTO_INCREMENT, --").replace(
                "integer default nextval", "int(11) NOT NULL AUTO_INCREMENT, --")
            lines = []
            for line in s.splitlines():
                if "AUTO_INCREMENT, --" in line:
                    line = line.split(", --")[0] + ","
                lines.append(line)
            s = "\n".join(lines)
            s = (s.replace("numeric(", "decimal(").replace(" integer", " int(11)")
                 .replace("DEFAULT 0 NOT NULL,\n    message", "DEFAULT '0' NOT NULL,\n    message")
                 .replace("text DEFAULT ''", "text DEFAULT ''"))
            # MySQL keeps FOREIGN KEYs as table constraints; LMS's MySQL schema has them too,
            # but the import reads only, so the subset leaves them out.
            s = "\n".join(line.split(" REFERENCES ")[0] + ("," if line.rstrip().endswith(",") else "")
                          if " REFERENCES " in line else line for line in s.splitlines())
            s += " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        elif s.startswith("CREATE INDEX"):
            pass
        out.append(s)
    return ";\n".join(out) + ";"


class Lms:
    """One LMS database on PostgreSQL ("pg") or MariaDB ("mysql")."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self.name = f"lms_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        base = PG_URL if engine == "pg" else MYSQL_URL
        self.admin = base
        self.url = base.rsplit("/", 1)[0] + "/" + self.name

    # PostgreSQL through asyncpg, MariaDB through PyMySQL; both synchronous to the caller.
    def _pg(self, database: str, sql: str, fetch: bool = False):
        import asyncpg

        async def run():
            p = urlsplit(self.admin)
            conn = await asyncpg.connect(host=p.hostname, port=p.port or 5432, user=p.username or "postgres",
                                         password=p.password, database=database, timeout=5)
            try:
                if fetch:
                    return [dict(r) for r in await conn.fetch(sql)]
                await conn.execute(sql)
            finally:
                await conn.close()

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, run()).result()

    def _my(self, database: str | None, sql: str, fetch: bool = False):
        import pymysql

        p = urlsplit(self.admin)
        conn = pymysql.connect(host=p.hostname, port=p.port or 3306, user=p.username or "root",
                               password=p.password or "", database=database, charset="utf8mb4",
                               cursorclass=pymysql.cursors.DictCursor, autocommit=True,
                               client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                if fetch:
                    return list(cursor.fetchall())
                while cursor.nextset():
                    pass
        finally:
            conn.close()

    def create(self) -> Lms:
        if self.engine == "pg":
            self._pg("postgres", f'CREATE DATABASE "{self.name}"')
            self._pg(self.name, PG_DDL)
        else:
            self._my(None, f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
            self._my(self.name, mysql_ddl())
        return self

    def drop(self) -> None:
        if self.engine == "pg":
            self._pg("postgres", f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            self._my(None, f"DROP DATABASE IF EXISTS `{self.name}`")

    def execute(self, sql: str) -> None:
        if self.engine == "pg":
            self._pg(self.name, sql)
        else:
            self._my(self.name, sql)

    def rows(self, sql: str) -> list[dict]:
        return self._pg(self.name, sql, True) if self.engine == "pg" else self._my(self.name, sql, True)

    def insert(self, table: str, columns: str, rows: list[tuple], chunk: int = 1000) -> None:
        """Multi-row INSERTs with literal values (both engines read the same text)."""
        for i in range(0, len(rows), chunk):
            values = ",\n".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows[i:i + chunk])
            self.execute(f"INSERT INTO {table} ({columns}) VALUES {values}")


def literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def ts(text: str) -> int:
    """LMS time: Unix seconds of a Warsaw local time, "2026-10-01 10:00"."""
    return int(datetime.fromisoformat(text).replace(tzinfo=WARSAW).timestamp())


def ip(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return ((a * 256 + b) * 256 + c) * 256 + d


SELLER = ("ISP Przykład Sp. z o.o.", "ul. Sieciowa 1", "26-200", "Końskie", "6570300000")


def fill_small(lms: Lms) -> None:
    """A handful of customers covering what the import must get right (see the tests)."""
    lms.insert("taxes", "id, value, taxed, label", [(1, "23.00", 1, "23%"), (2, "8.00", 1, "8%"),
                                                    (3, "0.00", 0, "zw.")])
    lms.insert("numberplans", "id, template, period, doctype, isdefault",
               [(1, "%N/LMS/%Y", 5, 1, 1), (2, "FV/%N/%m/%Y", 3, 1, 0), (3, "KOR/%N/%Y", 5, 3, 1)])
    lms.insert("customers", "id, lastname, name, type, ten, pin, deleted, creationdate, moddate", [
        (1, "Kowalski", "Jan", 0, "", "123456", 0, ts("2024-03-01 12:00"), 0),
        (2, "Firma Usługowa Sp. z o.o.", "", 1, "526-104-08-28", "4821", 0, ts("2024-05-10 09:00"), 0),
        (3, "Nowak", "Anna", 0, "888-111-22-20", "007391", 0, ts("2023-12-01 08:00"), 0),
        (4, "Usunięty", "Adam", 0, "", "999999", 1, ts("2022-01-01 08:00"), 0),
        (5, "Wiśniewski", "Piotr", 0, "", "$2y$10$abcdefghijklmnopqrstuuQ5iZ2xkV8y0yV3Xx8oH9m0q1r2s3t4u", 0,
         ts("2025-01-01 08:00"), 0),
    ])
    lms.insert("addresses", "id, street, house, flat, zip, city", [
        (1, "ul. Polna", "12", "3", "26-200", "Końskie"), (2, "ul. Pocztowa", "5", None, "26-200", "Końskie"),
        (3, "ul. Przemysłowa", "8", None, "25-001", "Kielce"), (4, None, "17", None, "26-212", "Wólka"),
        (5, "ul. Leśna", "1", None, "26-200", "Końskie"),
    ])
    lms.insert("customer_addresses", "id, customer_id, address_id, type",
               [(1, 1, 1, 1), (2, 1, 2, 0), (3, 2, 3, 1), (4, 3, 4, 1), (5, 5, 5, 1)])
    lms.insert("customercontacts", "id, customerid, name, contact, type", [
        (1, 1, "", "jan.kowalski@example.pl", 8 | 16), (2, 1, "", "600 100 200", 1),
        (3, 2, "", "biuro@firma.example.pl", 8), (4, 2, "", "41 260 12 34", 4),
        (5, 3, "", "JAN.KOWALSKI@example.pl", 8), (6, 3, "", "123", 1),
        (7, 3, "stary", "anna@old.example.pl", 8 | 16384),
    ])
    lms.insert("customerconsents", "customerid, cdate, type", [(1, ts("2024-03-01 12:00"), 2), (1, 0, 10)])
    lms.insert("tariffs", "id, name, type, value, taxid, uprate, upceil, downrate, downceil", [
        (1, "Internet 300", 1, "79.99", 1, 50000, 50000, 300000, 300000),
        (2, "Internet 100", 1, "59.99", 1, 20000, 20000, 100000, 100000),
    ])
    lms.insert("assignments", "id, tariffid, customerid, period, at, datefrom, dateto, suspended", [
        (1, 1, 1, 3, 1, ts("2024-03-01 00:00"), 0, 0),
        (2, 1, 2, 3, 1, ts("2024-05-10 00:00"), 0, 0),
        (3, 2, 3, 3, 1, ts("2023-12-01 00:00"), ts("2025-06-30 23:59"), 0),
        (4, 1, 3, 3, 1, ts("2025-07-01 00:00"), 0, 0),
        (5, 1, 4, 3, 1, ts("2022-01-01 00:00"), 0, 0),
    ])
    lms.insert("nodes", "id, name, ipaddr, ownerid, netid", [
        (1, "JAN-PC", ip("10.0.0.2"), 1, 1), (2, "FIRMA-RTR", ip("10.0.0.3"), 2, 1),
        (3, "ANNA-AP", 0, 3, 1), (4, "ADAM-PC", ip("10.0.0.4"), 4, 1),
    ])
    lms.insert("macs", "id, mac, nodeid", [(1, "00:1a:2b:3c:4d:5e", 1), (2, "00:1a:2b:3c:4d:5f", 2)])
    s = SELLER
    docs = [  # id, type, number, plan, cdate, sdate, customer, name, address, zip, city, ten, reference
        (1, 1, 1, 1, ts("2026-10-01 10:00"), ts("2026-10-01 10:00"), 1, "Kowalski Jan", "ul. Polna 12/3", "26-200", "Końskie", "", None),
        (2, 1, 2, 1, ts("2026-11-02 10:00"), ts("2026-11-02 10:00"), 1, "Kowalski Jan", "ul. Polna 12/3", "26-200", "Końskie", "", None),
        (3, 1, 7, 2, ts("2026-11-03 10:00"), ts("2026-11-03 10:00"), 2, "Firma Usługowa Sp. z o.o.", "ul. Przemysłowa 8", "25-001", "Kielce", "5261040828", None),
        (4, 1, 3, 1, ts("2026-11-04 10:00"), ts("2026-11-04 10:00"), 3, "Nowak Anna", "Wólka 17", "26-212", "Wólka", "", None),
        (5, 3, 1, 3, ts("2026-11-20 10:00"), ts("2026-11-04 10:00"), 3, "Nowak Anna", "Wólka 17", "26-212", "Wólka", "", 4),
        (6, 1, 4, 1, ts("2026-11-05 10:00"), ts("2026-11-05 10:00"), 4, "Usunięty Adam", "", "", "", "", None),
        (7, 1, 5, 1, ts("2026-11-06 10:00"), ts("2026-11-06 10:00"), 1, "Kowalski Jan", "ul. Polna 12/3", "26-200", "Końskie", "", None),
    ]
    lms.insert("documents", "id, type, number, numberplanid, cdate, sdate, customerid, name, address, zip, city, "
               "ten, reference, paytime, paytype, div_name, div_address, div_zip, div_city, div_ten, div_bank",
               [d + (14, 2) + s[:1] + (s[1], s[2], s[3], s[4], "Bank Przykładowy") for d in docs])
    lms.insert("invoicecontents", "docid, itemid, value, taxid, content, count, description, tariffid", [
        (1, 1, "79.99", 1, "szt.", "1", "Abonament Internet 300 — październik 2026", 1),
        (2, 1, "79.99", 1, "szt.", "1", "Abonament Internet 300 — listopad 2026", 1),
        (2, 2, "25.00", 1, "szt.", "2", "Wizyta serwisanta", None),
        (3, 1, "79.99", 1, "szt.", "1", "Abonament Internet 300 — listopad 2026", 1),
        (4, 1, "79.99", 1, "szt.", "1", "Abonament Internet 300 — listopad 2026", 1),
        (5, 1, "39.99", 1, "szt.", "1", "Abonament Internet 300 — listopad 2026 (korekta)", 1),
        (6, 1, "79.99", 1, "szt.", "1", "Abonament Internet 300 — listopad 2026", 1),
        (7, 1, "79.99", 1, "szt.", "1", "Abonament Internet 300 — listopad 2026 (anulowana)", 1),
    ])
    lms.execute("UPDATE documents SET cancelled = 1 WHERE id = 7")
    lms.insert("cash", "id, time, type, value, customerid, docid, itemid, comment", [
        (1, ts("2026-10-01 10:00"), 0, "-79.99", 1, 1, 1, "Abonament Internet 300 — październik 2026"),
        (2, ts("2026-10-12 09:00"), 1, "79.99", 1, None, 0, "Wpłata ID 0001 za październik"),
        (3, ts("2026-11-02 10:00"), 0, "-79.99", 1, 2, 1, "Abonament Internet 300 — listopad 2026"),
        (4, ts("2026-11-02 10:00"), 0, "-50.00", 1, 2, 2, "Wizyta serwisanta"),
        (5, ts("2026-11-03 10:00"), 0, "-79.99", 2, 3, 1, "Abonament Internet 300 — listopad 2026"),
        (6, ts("2026-11-10 09:00"), 1, "100.00", 2, None, 0, "Przelew FV/7/11/2026"),
        (7, ts("2026-11-04 10:00"), 0, "-79.99", 3, 4, 1, "Abonament Internet 300 — listopad 2026"),
        (8, ts("2026-11-20 10:00"), 0, "40.00", 3, 5, 1, "Korekta KOR/1/2026"),
        (9, ts("2026-11-05 10:00"), 0, "-79.99", 4, 6, 1, "Abonament"),
        (10, ts("2026-11-06 10:00"), 1, "500.00", None, None, 0, "Wpłata do kasy"),
    ])
    lms.insert("rtqueues", "id, name, email", [(1, "Biuro Obsługi", "bok@isp.example.pl"),
                                               (2, "Serwis techniczny", "serwis@isp.example.pl")])
    lms.insert("rttickets", "id, queueid, customerid, subject, state, createtime, deleted", [
        (1, 2, 1, "Brak internetu od rana", 1, ts("2026-11-15 08:00"), 0),
        (2, 1, 3, "Prośba o fakturę korygującą", 2, ts("2026-11-18 08:00"), 0),
        (3, 1, 4, "Rezygnacja", 2, ts("2025-11-18 08:00"), 0),
    ])
    lms.insert("rtmessages", "id, ticketid, userid, customerid, subject, body, createtime, type", [
        (1, 1, None, 1, "Brak internetu od rana", "Od 7:00 nie działa internet.", ts("2026-11-15 08:00"), 0),
        (2, 1, 1, None, "", "Sprawdzamy nadajnik, prosimy o cierpliwość.", ts("2026-11-15 09:00"), 0),
        (3, 1, 1, None, "", "Nadajnik na maszcie 3 do wymiany.", ts("2026-11-15 09:05"), 1),
        (4, 1, 1, None, "", "Zmiana stanu: nowy -> otwarty", ts("2026-11-15 09:06"), 8),
        (5, 2, None, 3, "Prośba", "Proszę o korektę za listopad.", ts("2026-11-18 08:00"), 0),
        (6, 2, 1, None, "", "Korekta wystawiona.", ts("2026-11-20 10:00"), 0),
    ])
    stats = []
    for day in ("2026-11-28", "2026-11-29"):
        for hour in (8, 12, 20):
            stats.append((1, ts(f"{day} {hour:02d}:00"), 1_000_000 * hour, 10_000_000 * hour))
    lms.insert("stats", "nodeid, dt, upload, download", stats)

"""In-memory fakes of the services' stores for the unit tier: same method names and contracts as the DAL classes
they stand in for, state kept in dicts, and the invariants the real tables enforce checked on every call."""

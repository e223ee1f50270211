-- Entries are found by log index or by pending id, never by leaf hash (a
-- receipt is fetched by pending id, which verifications keep). This
-- random-order index cost a B-tree update on a random page per integrated
-- entry, the sequencer's largest cost after the entry itself.
DROP INDEX log_entry_by_leaf;

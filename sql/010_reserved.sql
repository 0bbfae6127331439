-- mod_qiwei schema version 10: reserved.  Another change being made at the
-- same time takes number 10; this empty step only keeps the numbering
-- without gaps (qiweictl migrate refuses gaps) on the branch that adds
-- version 11.  Whoever merges both keeps the other change's 010 file and
-- deletes this one.
DO $$ BEGIN NULL; END $$;

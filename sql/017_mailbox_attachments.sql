-- mod_qiwei schema version 17: attachments of private-mailbox messages
-- (R10, docs/mailbox.md#attachments).  Keyed by enterprise_id first.
--
-- Each recipient's copy holds its own sealed copy of each attachment: the
-- attachment's name and bytes encrypted under a data key of its own
-- (util/envelope.h, scheme "mailbox.att": KEK purpose "mailbox-kek v1",
-- AAD "qw1|mailbox.att.body|<ent>|<message>|<member>|<index>"), so that
-- an attachment moved to another copy, member, index or enterprise does
-- not decrypt.  An attachment lives exactly as long as its copy: the
-- trigger below deletes a copy's attachments (ciphertext, wrapped key and
-- all) in the statement that destroys the copy, whichever rule or act
-- destroys it (read once, expiry on read or by gc, sender, recipient,
-- wipe, member status); deleting a copy (a deleted member) cascades.

-- how many attachments a message has and their total size (bytes of the
-- files, before encryption), for the lists; the same for every copy
ALTER TABLE mailbox_messages
    ADD COLUMN attachments integer NOT NULL DEFAULT 0
        CHECK (attachments BETWEEN 0 AND 4),
    ADD COLUMN attachment_bytes bigint NOT NULL DEFAULT 0
        CHECK (attachment_bytes >= 0);

CREATE TABLE mailbox_attachments (
    enterprise_id  bigint NOT NULL,
    message_id     bigint NOT NULL,
    member_id      bigint NOT NULL,
    idx            integer NOT NULL CHECK (idx BETWEEN 1 AND 4),
    -- an image type only when the bytes are one (checked by the module);
    -- anything else is stored, and served, as application/octet-stream
    content_type   text NOT NULL
                   CHECK (content_type IN ('image/png', 'image/jpeg',
                                           'image/gif', 'image/webp',
                                           'application/octet-stream')),
    bytes          integer NOT NULL CHECK (bytes BETWEEN 1 AND 4194304),
    -- the name and the bytes, sealed: name, NUL, bytes
    blob_enc       bytea NOT NULL,
    dek_wrapped    bytea NOT NULL CHECK (length(dek_wrapped) = 65),
    dek_kid        integer NOT NULL,
    PRIMARY KEY (enterprise_id, message_id, member_id, idx),
    FOREIGN KEY (enterprise_id, message_id, member_id)
        REFERENCES mailbox_copies (enterprise_id, message_id, member_id)
        ON DELETE CASCADE
);

-- A copy that is destroyed takes its attachments with it, in the same
-- statement (so in the same transaction as the copy's own ciphertext and
-- key).
CREATE FUNCTION qw_mailbox_copy_destroyed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM mailbox_attachments a
     WHERE a.enterprise_id = NEW.enterprise_id
       AND a.message_id = NEW.message_id
       AND a.member_id = NEW.member_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER mailbox_copies_destroy_attachments
    AFTER UPDATE OF state ON mailbox_copies
    FOR EACH ROW WHEN (NEW.state = 'destroyed')
    EXECUTE FUNCTION qw_mailbox_copy_destroyed();

-- and no attachment is ever added to a destroyed copy
CREATE FUNCTION qw_mailbox_attachment_live() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM mailbox_copies c
                    WHERE c.enterprise_id = NEW.enterprise_id
                      AND c.message_id = NEW.message_id
                      AND c.member_id = NEW.member_id
                      AND c.state <> 'destroyed') THEN
        RAISE EXCEPTION 'mailbox attachment of a destroyed copy'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER mailbox_attachments_live
    BEFORE INSERT OR UPDATE ON mailbox_attachments
    FOR EACH ROW EXECUTE FUNCTION qw_mailbox_attachment_live();

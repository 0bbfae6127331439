-- mod_qiwei schema version 18: a record of the external share links made
-- (R8, docs/admin-api.md "GET $B/articles/ID/links"), so that an admin
-- can list the live ones and revoke one.  Keyed by enterprise_id first.
--
-- A link is still a signed token (util/share.h); this table does not make
-- it valid, it can only make it invalid: the article statement of the
-- request path (article.c) joins the row of the link it was given and
-- refuses the link when revoked_at is set.  A link made before this
-- version has no row: it keeps working until it expires or the article's
-- share_version is bumped (PUT share off / revoke), and it cannot be
-- listed or revoked one by one.  The token itself is never stored.
CREATE TABLE share_links (
    enterprise_id bigint NOT NULL,
    article_id    bigint NOT NULL,
    -- the link id of the token: 16 lower-case hex digits (64 random bits)
    link_id       text NOT NULL CHECK (link_id ~ '^[0-9a-f]{16}$'),
    -- the article's share_version signed into the token: a link is live
    -- only while it equals the article's
    share_version integer NOT NULL CHECK (share_version > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- NULL: never expires
    expires_at    timestamptz,
    -- the actor as the operation log names it ("admin:3",
    -- "operator:root")
    created_by    text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
    revoked_at    timestamptz,
    revoked_by    text CHECK (length(revoked_by) BETWEEN 1 AND 200),
    PRIMARY KEY (enterprise_id, article_id, link_id),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)),
    FOREIGN KEY (enterprise_id, article_id)
        REFERENCES articles (enterprise_id, article_id) ON DELETE CASCADE
);

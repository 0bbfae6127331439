-- mod_qiwei schema version 12: admin locks per source network, bounded
-- scan-to-login challenges.
--
-- Admin locks.  Ten wrong passwords used to lock an admin account for
-- everybody, so anyone who knew an admin's name could keep that admin out.
-- The admin counters are now kept per (account, source network) -- the
-- /24 of an IPv4 address, the /64 of an IPv6 one -- with the waits and the
-- lock of before, and per account as a whole (source '') with no waits and
-- a lock only at a much higher count (100, docs/account-security.md), which
-- still bounds guessing spread over many networks.  Members' counters keep
-- source '' (their rule has waits only, no lock).
ALTER TABLE login_throttle ADD COLUMN source text NOT NULL DEFAULT ''
    CHECK (length(source) <= 64);
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_pkey;
ALTER TABLE login_throttle
    ADD PRIMARY KEY (enterprise_id, account, kind, source);

-- The account-only counter (members; sql/005) keeps source ''.
CREATE OR REPLACE FUNCTION qw_throttle_hit(p_code text, p_account text,
                                           p_kind text, threshold integer,
                                           base integer, cap integer,
                                           lock_after integer,
                                           lock_secs integer, quiet integer,
                                           OUT wait_seconds integer,
                                           OUT failures integer)
LANGUAGE plpgsql AS $$
DECLARE
    eid bigint;
    n integer;
    d integer;
BEGIN
    SELECT e.enterprise_id INTO eid FROM enterprises e WHERE e.code = p_code;
    IF eid IS NULL THEN
        wait_seconds := 0;
        failures := 0;
        RETURN;
    END IF;
    INSERT INTO login_throttle AS t (enterprise_id, account, kind, source,
                                     failures, last_at, next_at)
         VALUES (eid, p_account, p_kind, '', 1, now(), now())
    ON CONFLICT (enterprise_id, account, kind, source) DO UPDATE
       SET failures = CASE WHEN t.last_at < now() - make_interval(secs => quiet)
                           THEN 1 ELSE t.failures + 1 END,
           last_at = now()
     WHERE t.next_at <= now()
        OR t.last_at < now() - make_interval(secs => quiet)
    RETURNING t.failures INTO n;
    IF n IS NULL THEN
        -- refused: still waiting
        SELECT greatest(1, ceil(extract(epoch FROM t.next_at - now())))::int,
               t.failures
          INTO wait_seconds, failures
          FROM login_throttle t
         WHERE t.enterprise_id = eid AND t.account = p_account
           AND t.kind = p_kind AND t.source = '';
        RETURN;
    END IF;
    IF lock_after IS NOT NULL AND n >= lock_after THEN
        d := lock_secs;
    ELSIF n >= threshold THEN
        d := least(cap::bigint, base::bigint
                   * (2::bigint ^ least(n - threshold, 30)))::int;
    ELSE
        d := 0;
    END IF;
    IF d > 0 THEN
        UPDATE login_throttle t SET next_at = now() + make_interval(secs => d)
         WHERE t.enterprise_id = eid AND t.account = p_account
           AND t.kind = p_kind AND t.source = '';
    END IF;
    wait_seconds := 0;
    failures := n;
END
$$;

-- One attempt counted both per (account, source) and per account, in one
-- transaction: refused (nothing counted) while either row waits; otherwise
-- both counted.  The source row follows the rule of qw_throttle_hit (waits
-- after threshold, lock_secs from lock_after on); the account row only
-- locks, for account_lock_secs from account_lock_after failures on.
-- lock_scope: NULL, 'source' or 'account' when this attempt started a lock
-- ('account' wins when both did).
CREATE FUNCTION qw_throttle_hit_source(p_code text, p_account text,
                                       p_kind text, p_source text,
                                       threshold integer, base integer,
                                       cap integer, lock_after integer,
                                       lock_secs integer, quiet integer,
                                       account_lock_after integer,
                                       account_lock_secs integer,
                                       OUT wait_seconds integer,
                                       OUT failures integer,
                                       OUT account_failures integer,
                                       OUT lock_scope text)
LANGUAGE plpgsql AS $$
DECLARE
    eid bigint;
    t record;
    n integer := 0;
    na integer := 0;
    w integer := 0;
    d integer;
BEGIN
    wait_seconds := 0;
    failures := 0;
    account_failures := 0;
    SELECT e.enterprise_id INTO eid FROM enterprises e WHERE e.code = p_code;
    IF eid IS NULL OR p_source IS NULL OR p_source = '' THEN
        RETURN;
    END IF;
    INSERT INTO login_throttle (enterprise_id, account, kind, source,
                                failures)
         VALUES (eid, p_account, p_kind, '', 0),
                (eid, p_account, p_kind, p_source, 0)
    ON CONFLICT DO NOTHING;
    -- both rows locked in one order ('' first): no deadlock between
    -- concurrent attempts
    FOR t IN SELECT * FROM login_throttle l
              WHERE l.enterprise_id = eid AND l.account = p_account
                AND l.kind = p_kind AND l.source IN ('', p_source)
              ORDER BY l.source FOR UPDATE
    LOOP
        IF t.last_at >= now() - make_interval(secs => quiet)
           AND t.next_at > now() THEN
            w := greatest(w, ceil(extract(epoch FROM t.next_at - now()))::int);
        END IF;
        IF t.source = '' THEN
            na := t.failures;
        ELSE
            n := t.failures;
        END IF;
    END LOOP;
    IF w > 0 THEN
        wait_seconds := greatest(1, w);
        failures := n;
        account_failures := na;
        RETURN;
    END IF;
    UPDATE login_throttle l
       SET failures = CASE WHEN l.last_at < now() - make_interval(secs => quiet)
                           THEN 1 ELSE l.failures + 1 END,
           last_at = now()
     WHERE l.enterprise_id = eid AND l.account = p_account
       AND l.kind = p_kind AND l.source IN ('', p_source);
    SELECT l.failures INTO n FROM login_throttle l
     WHERE l.enterprise_id = eid AND l.account = p_account
       AND l.kind = p_kind AND l.source = p_source;
    SELECT l.failures INTO na FROM login_throttle l
     WHERE l.enterprise_id = eid AND l.account = p_account
       AND l.kind = p_kind AND l.source = '';
    -- the source row: waits, then the lock
    IF lock_after IS NOT NULL AND n >= lock_after THEN
        d := lock_secs;
        lock_scope := 'source';
    ELSIF n >= threshold THEN
        d := least(cap::bigint, base::bigint
                   * (2::bigint ^ least(n - threshold, 30)))::int;
    ELSE
        d := 0;
    END IF;
    IF d > 0 THEN
        UPDATE login_throttle l SET next_at = now() + make_interval(secs => d)
         WHERE l.enterprise_id = eid AND l.account = p_account
           AND l.kind = p_kind AND l.source = p_source;
    END IF;
    -- the account row: only the lock
    IF na >= account_lock_after THEN
        UPDATE login_throttle l
           SET next_at = now() + make_interval(secs => account_lock_secs)
         WHERE l.enterprise_id = eid AND l.account = p_account
           AND l.kind = p_kind AND l.source = '';
        lock_scope := 'account';
    END IF;
    failures := n;
    account_failures := na;
END
$$;

-- Scan to log in: every GET of the scan page made a row.  Open (unexpired)
-- challenges are now bounded per requesting address, per its network and
-- per enterprise (qw_scan_new); expired ones are deleted as new ones come.
CREATE INDEX scan_challenges_open ON scan_challenges (enterprise_id,
                                                      expires_at);

-- A new challenge, or why not: result 'ok', 'address' (this address, or its
-- network, holds too many open challenges) or 'total' (the enterprise
-- does); retry_after the seconds until the oldest challenge in the way
-- expires.  Serialised per enterprise (an advisory lock) so that the
-- bounds hold under concurrency.  'notfound': no such enterprise.
CREATE FUNCTION qw_scan_new(p_code text, p_challenge bytea, p_browser bytea,
                            p_ip text, p_net text, p_ua text, p_next text,
                            p_ttl integer, per_address integer,
                            per_network integer, total integer,
                            OUT result text, OUT retry_after integer)
LANGUAGE plpgsql AS $$
DECLARE
    eid bigint;
    oldest timestamptz;
    n integer;
BEGIN
    retry_after := 0;
    SELECT e.enterprise_id INTO eid FROM enterprises e WHERE e.code = p_code;
    IF eid IS NULL THEN
        result := 'notfound';
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('qw_scan_new'), eid::int);
    DELETE FROM scan_challenges s
     WHERE s.enterprise_id = eid AND s.expires_at < now();
    SELECT count(*), min(s.expires_at) INTO n, oldest
      FROM scan_challenges s
     WHERE s.enterprise_id = eid AND s.requester_ip = p_ip;
    IF n >= per_address THEN
        result := 'address';
    END IF;
    IF result IS NULL AND p_net IS NOT NULL THEN
        SELECT count(*), min(s.expires_at) INTO n, oldest
          FROM scan_challenges s
         WHERE s.enterprise_id = eid
           AND s.requester_ip ~ '^[0-9A-Fa-f:.]+$'
           AND s.requester_ip::inet <<= p_net::cidr;
        IF n >= per_network THEN
            result := 'address';
        END IF;
    END IF;
    IF result IS NULL THEN
        SELECT count(*), min(s.expires_at) INTO n, oldest
          FROM scan_challenges s WHERE s.enterprise_id = eid;
        IF n >= total THEN
            result := 'total';
        END IF;
    END IF;
    IF result IS NOT NULL THEN
        retry_after := greatest(1, ceil(extract(epoch FROM oldest - now())));
        RETURN;
    END IF;
    INSERT INTO scan_challenges (enterprise_id, challenge_hash,
                                 browser_hash, requester_ip, requester_ua,
                                 next_url, expires_at)
         VALUES (eid, p_challenge, p_browser, p_ip, p_ua, p_next,
                 now() + make_interval(secs => p_ttl));
    result := 'ok';
END
$$;

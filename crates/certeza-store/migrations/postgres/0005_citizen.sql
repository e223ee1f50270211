-- Citizen sign-in (until a national single sign-on is plugged in): one-time
-- codes, sessions, a per-person request log for rate limiting, and the demo
-- outbox. Nothing here holds a personal value in clear: people are referenced
-- by the blind index of the CURP, tokens and codes are stored only hashed, and
-- the outbox keeps a masked destination.

-- One row per code sent. `token_sha256` is the SHA-256 of the random token
-- kept in the browser's sign-in cookie; `code_sha256` is SHA-256(token || code),
-- so a copy of the database alone does not give the code away.
CREATE TABLE citizen_code (
    token_sha256   BYTEA PRIMARY KEY NOT NULL,
    person_id      BYTEA NOT NULL,
    code_sha256    BYTEA NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    used_at_ms     BIGINT
);
CREATE INDEX citizen_code_by_expiry ON citizen_code (expires_at_ms);

-- Every sign-in request for a CURP, matched or not, for rate limiting.
CREATE TABLE citizen_request (
    person_id      BYTEA NOT NULL,
    requested_at_ms BIGINT NOT NULL
);
CREATE INDEX citizen_request_by_person ON citizen_request (person_id, requested_at_ms);

-- Signed-in sessions; the cookie holds the token, the database its SHA-256.
CREATE TABLE citizen_session (
    token_sha256   BYTEA PRIMARY KEY NOT NULL,
    person_id      BYTEA NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL
);
CREATE INDEX citizen_session_by_expiry ON citizen_session (expires_at_ms);

-- Messages "sent" by the demo's outbox notifier, shown at /demo/buzon.
CREATE TABLE citizen_outbox (
    id             BIGSERIAL PRIMARY KEY,
    channel        TEXT NOT NULL,
    destination    TEXT NOT NULL,
    body           TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL
);

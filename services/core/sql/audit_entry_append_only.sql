-- audit_entry_append_only: The audit trail is append-only: any UPDATE or DELETE of audit_entry
-- is refused (decision 0008). Nothing calls it: the trigger below fires on every such write.
-- Current text installed by migration 0003 (2026-11-22-2006_organisations_users_api_keys_audit.py).

CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
        BEGIN
            RAISE EXCEPTION 'audit_entry is append-only' USING ERRCODE = 'insufficient_privilege';
        END;
        $fn$;

CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
  FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();

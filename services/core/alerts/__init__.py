"""Alerts: notification rows the domains raise (callbacks, matches, retention) and the
notifications worker sends. Kinds and labels (:mod:`.kinds`), raising and cancelling
(:mod:`.raising`), the SMS provider's delivery reports (:mod:`.sms_status`)."""

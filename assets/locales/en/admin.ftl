# Administration pages.

admin-people = People
admin-groups = Groups and permissions
admin-security = Security
admin-policy = Password and session policy
admin-integrations = Integrations
admin-tokens-link = API tokens of connected services
admin-backups = Backups
admin-backups-link = Destinations, last runs, verified restores
admin-updates = Updates
admin-updates-link = Installed version, bundle check, update history
admin-money = Money
admin-money-link = Currency, tax rates, hourly rate, payment terms, default language
admin-profile-link = Invoice profile: the seller's details on invoices
admin-mail = Mail
admin-mail-link = Outbox and test message
mail-state-on = sending through { $host }:{ $port } ({ $tls })
mail-state-off = off: no [mail] section in the configuration, so e-mailed codes and notifications are unavailable
nothing-changed = Nothing changed.
saved-settings =
    { $count ->
        [0] Nothing changed.
        [one] Saved one setting.
       *[other] Saved { $count } settings.
    }

asvs-short-passwords = OWASP ASVS 5.0 (V6.2) requires passwords of at least 8 characters and strongly recommends a minimum of 15.
asvs-composition = Composition rules (required character classes) are discouraged by OWASP ASVS 5.0 (V6.2): they push users toward predictable passwords.
asvs-periodic = Forced periodic password changes are advised against by OWASP ASVS 5.0 (V6.2, level 2): a password should stay valid until it is known to be compromised or the user changes it.
asvs-factor-off = The second factor is off: OWASP ASVS 5.0 (V6.3) requires multi-factor authentication from level 2 upward, so this setting meets level 1 only.
asvs-factor-optional = The second factor is optional: OWASP ASVS 5.0 (V6.3) requires multi-factor authentication for every user from level 2 upward; users who do not enrol are at level 1 only.
asvs-email-factor = With `required`, an e-mailed code counts as a second factor, but OWASP ASVS 5.0 does not accept e-mail as an authentication mechanism (V6.6 calls it unsafe; level 3 forbids it); `required_totp` avoids this.

## Users

users-user = User
users-state = State
users-actions = Actions
users-unlock = Unlock
users-reset-password = Reset password
users-reset-password-confirm = Give { $name } a new temporary password and sign them out?
users-sign-out = Sign out everywhere
users-reset-factor = Reset second factor
users-reset-factor-confirm = Remove the second factor of { $name }? They must set one up again at their next sign-in.
users-enrolment-code = Enrolment code
users-enable = Enable
users-disable = Disable
users-disable-confirm = Disable { $name }? They lose access at once.
users-close-support = Close support access
users-all-sessions = All sessions
users-all-sessions-hint = Sign out every person of this instance at once (for example after a suspected compromise). Your own session ends too.
users-sign-out-everyone = Sign out everyone
users-sign-out-everyone-confirm = Sign out everyone, you included?
users-add = Add a user
users-add-hint = holdfast creates a one-time temporary password, shown once here; the user must change it at first sign-in.
users-add-button = Add user
user-locked = locked
user-disabled = disabled
user-support-until = support until { $until }
user-must-change = must change password
user-active = active
user-created = User { $name } created.
user-created-password = User { $name } created. Temporary password (shown only now; they must change it at first sign-in): { $password }
user-unlocked = { $name } unlocked.
user-new-password = New temporary password for { $name } (shown only now): { $password }
user-disabled-done = { $name } disabled and signed out.
user-enabled = { $name } enabled.
user-sessions-ended =
    { $count ->
        [0] { $name } had no session to end.
        [one] One session of { $name } ended.
       *[other] { $count } sessions of { $name } ended.
    }
user-support-closed = Support access of { $name } closed.
user-factor-reset = Second factor of { $name } removed and their sessions ended; they set one up again at their next sign-in.
user-enrolment-code = Enrolment code for { $name } (shown only now; give it to them in person): { $code }
user-groups-saved = Groups of { $name } saved.

## Policy

policy-always-on = Always on: the 10,000 most common passwords and the user's own name or e-mail are refused.
policy-save = Save policy
policy-notice = Notice before sign-in
policy-notice-label = Shown on the sign-in page to everyone, before they sign in (for example: authorised use only, activity is logged). Empty = no notice.
policy-notice-save = Save notice
policy-notice-saved = Notice saved.
policy-password_min_length = Minimum password length
policy-password_min_length-help = 8–128 characters; passwords up to 256 characters are always accepted.
policy-password_require_classes = Required character classes
policy-password_require_classes-help = 0–4 of lower case, upper case, digit, symbol.
policy-password_history = Password history
policy-password_history-help = 0–24: how many previous passwords cannot be reused.
policy-password_max_age_days = Password expiry (days)
policy-password_max_age_days-help = 0 = never; otherwise the password must be changed at sign-in after this many days.
policy-lockout_threshold = Lockout threshold
policy-lockout_threshold-help = 1–100 consecutive failures lock the account until an admin unlocks it.
policy-second_factor = Second factor
policy-second_factor-help = off, optional, required (e-mailed code or app), required_totp (app only).
policy-session_idle_minutes = Idle timeout (minutes)
policy-session_idle_minutes-help = 5–1440.
policy-session_absolute_hours = Absolute session limit (hours)
policy-session_absolute_hours-help = 1–168.
policy-temporary_password_hours = Temporary passwords expire after (hours)
policy-temporary_password_hours-help = 1–720: a password set by an administrator or the console must be changed within this time, or it stops working.
policy-token_max_days = Longest API token lifetime (days)
policy-token_max_days-help = 1–3650: no token can be made to live longer.
policy-inactive_disable_days = Disable unused accounts after (days)
policy-inactive_disable_days-help = 0 = never; otherwise an account with no sign-in for this many days is disabled (support accounts excepted).

## Mail

mail-test-to = Send a test message to
mail-test-send = Send test message
mail-test-queued = Test message to { $to } queued; its state appears below.
mail-recent = Recent messages
mail-queued = Queued
mail-to = To
mail-subject = Subject
mail-attempts = Attempts
mail-last-error = Last error
mail-sent = sent
mail-failed = failed
mail-waiting = waiting

## API tokens

tokens = API tokens
tokens-heading = Connected services (API tokens)
tokens-service = Service
tokens-scopes = Scopes
tokens-owner = Owner
tokens-networks = Networks
tokens-created = Created
tokens-expires = Expires
tokens-owner-blocked = owner disabled or locked: token refused
tokens-console = console
tokens-any = any
tokens-never = never
tokens-revoked = revoked
tokens-revoke = Revoke
tokens-revoke-confirm = Revoke this token? The service loses access at once.
tokens-register = Register a service
tokens-service-name = Service name
tokens-scopes-hint = module:read = view and export; module:write = create, edit, delete and import; or a single module:action. Modules: clients, contacts, projects, tasks, time, invoices, documents.
tokens-expires-label = Expires after (days; empty = the longest the policy allows, { $max })
tokens-networks-label = Usable only from (networks, e.g. 10.20.0.0/16; empty = any address)
tokens-acts-for-you = The token acts for you: it stops working if your account is disabled or locked.
tokens-create = Create token
token-days-invalid = expires_days: a whole number of days, or empty for the longest the policy allows
token-created = Token #{ $id } created. Copy it now, it is not shown again: { $token }
token-revoked = Token #{ $id } revoked.

## Backups and updates

backups-schedule = Daily at { $time } (server local time) to every destination, then the newest archive of each destination is restored into a scratch area and checked.
backups-exported = Recovery code exported:
backups-not-exported = not yet — run `holdfast backup export-key` on the server
backups-run = Back up now
backups-verify = Verify newest now
backups-last-success = Last success
backups-size = Size
backups-last-verified = Last verified restore
backups-last-problem = Last problem
backups-verified-took = { $at }, took { $seconds } s
backups-made-scheduled = scheduled
backups-made-hand = made by hand, kept until you prune it
backups-made-update = taken before an update, kept until you prune it
updates-verified-bundle = Verified bundle
updates-installed = Installed version
updates-binary = Binary build
updates-epoch = Security epoch
updates-keys = Trusted release keys
updates-threshold = signatures required: { $n }
updates-last = Last update
updates-none-rollback = none that can be rolled back
updates-check = Check a bundle
updates-check-hint = The bundle is verified here (signatures, versions, expiry, every payload byte) and then deleted; nothing is installed. Updates are applied on the server with `holdfast update apply` (docs/updating.md). Up to { $mib } MiB.
updates-bundle-file = Bundle file (.hfu)
updates-verify = Verify
updates-no-history = No update has been checked or applied yet.
updates-when = When
updates-version = Version
updates-outcome = Outcome
updates-detail = Detail

## Money settings and invoice profile

money-heading = Money: currency, tax rates, rates, terms and language
money-currency = Currency of new invoices and projects
money-currency-hint = Proposed on the forms; each invoice keeps the currency it was made in.
money-hourly-rate = Default hourly rate
money-hourly-rate-hint = In the currency, written like { $example }; proposed for new projects.
money-terms = Payment terms
money-terms-days = Payment terms (days)
money-terms-hint = 0–365: an invoice issued without a due date is due this many days after its issue date.
money-terms-invalid = write a whole number of days from 0 to { $max }
money-locale = Default language
money-locale-hint = The language of pages for people who have not picked their own, and of invoices: English writes 1,234.50, Polish 1 234,50.
money-locale-invalid = choose one of the offered languages
money-tax-rates = Tax rates
money-tax-rates-hint = Offered on every invoice line; the default one is preselected. Clear a row's name and rate to remove it. Lines already on invoices keep their rate.
money-default-rate = Default tax rate
money-default-rate-empty = the default rate needs a name and a rate
money-rate-needs-name = row { $row } needs a name
money-rate-invalid = Tax rate { $name }: { $problem } (a percentage from 0 to 100, like { $example })
money-rate-name = Name
money-rate-percent = Rate (%)
money-rate-default = Default
money-rate-name-n = Name of tax rate { $n }
money-rate-percent-n = Rate of tax rate { $n } in percent
money-rate-default-n = Tax rate { $n } is the default
money-settings = Settings
money-save = Save money settings
profile = Invoice profile
profile-lead = The seller's details printed on every invoice document and PDF. An invoice keeps the details it was issued with; a change here applies to invoices issued from now on (and to drafts).
profile-legal-name = Legal name
profile-legal-name-hint = As registered, 1–{ $max } characters.
profile-address = Address
profile-address-hint = Up to { $lines } lines of at most { $chars } characters.
profile-tax-id = Tax ID
profile-tax-id-hint = VAT or tax identification number, at most { $max } characters.
profile-bank = Bank account
profile-bank-hint = An IBAN (its check digits are verified) or a national account number. Printed on every invoice as where to pay: changes are recorded in the security log.
profile-payment = Payment details
profile-payment-hint = Bank name, SWIFT/BIC, payment terms; at most { $max } characters.
profile-save = Save invoice profile
profile-saved =
    { $count ->
        [one] Invoice profile saved (one field changed).
       *[other] Invoice profile saved ({ $count } fields changed).
    }

## Security log: event names, and the page around them

event-login_succeeded = Signed in
event-login_failed = Sign-in failed
event-account_locked = Account locked
event-account_unlocked = Account unlocked
event-second_factor_sent = Sign-in code sent
event-second_factor_failed = Second factor failed
event-second_factor_enrolled = Second factor set up
event-recovery_code_used = Recovery code used
event-password_changed = Password changed
event-password_reset = Password reset
event-session_revoked = Session ended
event-signed_out = Signed out
event-user_created = User created
event-user_disabled = User disabled
event-user_enabled = User enabled
event-group_changed = Group changed
event-permission_changed = Permissions changed
event-policy_changed = Security policy changed
event-support_granted = Support access granted
event-support_revoked = Support access closed
event-setup_link_issued = Setup link issued
event-setup_completed = Setup completed
event-mail_test_sent = Test e-mail sent
event-audit_exported = Security log exported
event-record_created = Record created
event-record_updated = Record changed
event-record_deleted = Record deleted
event-record_restored = Record restored
event-data_exported = Data exported
event-data_imported = Data imported
event-invoice_issued = Invoice issued
event-token_created = API token created
event-token_revoked = API token revoked
event-token_used = API token used
event-update_verified = Update checked
event-update_refused = Update refused
event-backup_completed = Backup made
event-backup_verified = Backup checked
event-backup_restored = Backup restored
event-backup_key_exported = Backup key exported
event-update_extracted = Update unpacked
event-update_applied = Update installed
event-update_failed = Update failed
event-update_rolled_back = Update rolled back
event-enrolment_verified = Enrolment confirmed
event-enrolment_code_issued = Enrolment code issued
event-second_factor_reset = Second factor removed
event-email_changed = E-mail address changed
event-signin_notice_changed = Sign-in notice changed
event-comment_added = Comment added
event-invoice_line_added = Invoice line added
event-invoice_line_removed = Invoice line removed
event-time_billed = Time billed
event-settings_changed = Money settings changed
event-invoice_voided = Invoice voided
event-invoice_profile_changed = Invoice profile changed
event-alert_raised = Alert raised
event-alert_acknowledged = Alert acknowledged
event-alert_closed = Alert closed
event-alert_rules_changed = Alert rules changed
event-access_refused = Requests refused
log-chain-intact =
    { $count ->
        [one] Hash chain verified: 1 entry, none altered or removed.
       *[other] Hash chain verified: { $count } entries, none altered or removed.
    }
log-chain-broken = WARNING: the hash chain is broken at entry { $id }: { $reason }.
log-from = From (UTC)
log-to = To (UTC)
log-event = Event
log-any = any
log-user = User
log-address = Address
log-filter = Filter
log-export-csv = Export CSV
log-export-json = Export JSON
log-entries = Security log entries
log-time = Time
log-outcome = Outcome
log-actor = Actor
log-target = Target
log-details = Details
log-success = success
log-failure = failure
log-support = support
log-none-match = No entries match these filters.
log-older = Older entries
log-none = none

## Groups

groups-builtin = built in
groups-members = members:
groups-admin = administers this instance (implies everything)
groups-admin-implies = Every module permission below is included in admin.
groups-permissions-of = Permissions of { $group }
groups-module = Module
groups-save = Save permissions of { $group }
groups-delete = Delete group
groups-delete-confirm = Delete group { $group }?
groups-new = New group
groups-name = Name
groups-description = Description
groups-create = Create group
groups-created = Group { $group } created.
groups-saved = Permissions of { $group } saved.
groups-deleted = Group { $group } deleted.

## Alerts

alerts = Alerts
alerts-link = Alerts and their rules
alerts-link-hint = what the watch over the security log raised
alerts-open-badge =
    { $count ->
        [one] 1 open alert
       *[other] { $count } open alerts
    }
alerts-intro = holdfast watches the security log as it is written and raises an alert when a rule matches. Repeats fold into the alert until it is closed.
alerts-none = No alerts.
alerts-subject = Subject: { $subject } · seen { $count } time(s)
alerts-first = first
alerts-last = last
alerts-show-events = Show the events in the security log
alerts-rows = rows
alerts-note = Note
alerts-ack = Acknowledge
alerts-close = Close
alerts-rules = Rules
alerts-save-rules = Save rules
alert-rules-saved = Alert rules saved.
alert-now = Alert { $id } is now { $state }.
alert-rule-password_spraying = Password spraying
alert-rule-lockout_wave = Wave of lockouts
alert-rule-admin_new_address = Administrator from a new address
alert-rule-support_activity = Support account in use
alert-rule-admin_granted = New administrator
alert-rule-permission_granted = Group gained a permission
alert-rule-policy_weakened = Security policy weakened
alert-rule-token_created = API token created
alert-rule-token_new_address = API token used from a new address
alert-rule-mass_export = Mass export
alert-rule-backup_failed = Backup or test restore failed
alert-rule-backup_stale = No recent backup
alert-rule-log_chain_broken = Security log chain broken
alert-rule-certificate_expiry = Certificate about to expire
alert-rule-disk_low = Free disk low
alert-rule-webhook_failing = Webhook endpoint failing
alert-severity-low = low
alert-severity-medium = medium
alert-severity-high = high
alert-severity-critical = critical
alert-state-open = open
alert-state-acknowledged = acknowledged
alert-state-closed = closed
alert-threshold-spray_accounts = Spraying: accounts from one address
alert-threshold-spray_addresses = Spraying: addresses against one account
alert-threshold-spray_window_seconds = Spraying window (seconds)
alert-threshold-lockout_accounts = Lockout wave: accounts locked
alert-threshold-lockout_window_seconds = Lockout wave window (seconds)
alert-threshold-admin_address_days = Administrator addresses remembered (days)
alert-threshold-export_rows = Mass export: rows per person per hour
alert-threshold-backup_max_age_hours = Backup older than (hours)
alert-threshold-certificate_days = Certificate expires within (days)
alert-invalid-no-note = A note is required to acknowledge an alert (what was checked, who acts).
alert-invalid-note-long = The note is longer than { $max } characters.
alert-invalid-closed = Alert { $id } is already closed.
alert-invalid-not-number = { $setting }: "{ $value }" is not a number.
alert-invalid-range = { $setting }: { $value } is outside the allowed range { $min }–{ $max }.
alert-invalid-unknown = "{ $name }" is not an alert threshold.
updates-no-keys = none usable: { $reason }
updates-interrupted = An update { $from } → { $to } stopped at step “{ $step }”. Run `holdfast update recover` on the server.
updates-bundle-ok = Bundle OK: signatures, versions, expiry and every payload byte check out. Install it on the server with `holdfast update apply`.
updates-bundle-refused = Bundle refused: { $reason }
updates-report-version = { $product } { $arch } version { $version } (updates from { $from } on), security epoch { $epoch }
updates-report-dates = created { $created }, expires { $expires }
updates-report-payload = payload { $path } ({ $bytes } bytes, SHA-256 { $sha256 })
updates-report-signed = signed by { $keys }
updates-report-notes = release notes: { $notes }
alert-invalid-not-saved = The thresholds could not be saved; nothing was changed.

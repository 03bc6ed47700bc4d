# Sentences the domain writes about a refusal: password policy, account changes, CSV imports.

password-too-short = Use at least { $min } characters.
password-too-long = Use at most { $max } characters.
password-missing-classes = Use at least { $required } of these kinds of character: lower-case letters, upper-case letters, digits, and symbols or other characters (this password has { $found }).
password-common = This is one of the most commonly used passwords and is easy to guess; choose another.
password-contains-username = The password must not contain your user name.
password-contains-email = The password must not contain the name part of your e-mail address.
password-reused =
    { $count ->
        [one] It was used recently; the policy forbids reusing the last password.
       *[other] It was used recently; the policy forbids reusing the last { $count } passwords.
    }

account-error-not-found = There is no user named { $name }.
account-error-exists = A user named { $name } already exists.
account-error-wrong-password = The current password is wrong.
account-error-last-admin = This would leave the instance without an enabled administrator.

csv-not-utf8 = the file is not UTF-8 (byte { $byte })
csv-unreadable-header = cannot read the header row: { $detail }
csv-too-many-columns = the header has { $have } columns; this module's files have at most { $max }
csv-unknown-column = unknown column
csv-column-twice = column appears twice
csv-missing-column = required column is missing
csv-malformed = malformed CSV: { $detail }
csv-not-positive-id = must be a positive whole number
csv-too-many-rows = at most 100,000 rows per import
csv-id-exists = a record with id { $id } already exists

# Labels of the details of security-log events.
log-detail-reason = Reason
log-detail-attempt = Attempt
log-detail-attempts = Attempts
log-detail-failed_attempts = Failed attempts
log-detail-was_locked = Was locked
log-detail-method = Method
log-detail-purpose = Purpose
log-detail-new_address = New address
log-detail-second_factor = Second factor
log-detail-sessions_revoked = Sessions ended
log-detail-other_sessions_revoked = Other sessions ended
log-detail-must_enrol = Must set up a second factor
log-detail-expires_at = Expires
log-detail-from = From
log-detail-to = To
log-detail-rows = Rows
log-detail-fields = Fields
log-detail-kept = Kept
log-detail-rule = Rule
log-detail-severity = Severity
log-detail-subject = Subject
log-detail-summary = Summary
log-detail-events = Events
log-detail-count = Count
log-detail-filename = File name
log-detail-version = Version
log-detail-size = Size
log-detail-scopes = Scopes
log-detail-module = Module
log-detail-comment = Comment
log-detail-url = Address (URL)
log-detail-number = Number
log-detail-seconds = Seconds
log-detail-token_id = Token
log-detail-feed_id = Feed
log-detail-checkpoint = Checkpoint
log-detail-destinations = Destinations

# Calendar feed events (iCalendar SUMMARY, DESCRIPTION and CATEGORIES), in the feed owner's language.
feed-project = Project: { $name }
feed-client = Client: { $name }
feed-status = Status: { $status }
feed-priority = Priority: { $priority }
feed-deadline = Project deadline: { $title }
feed-time = { $spent } on { $project }
feed-category-task = Task
feed-category-deadline = Project deadline
feed-category-time = Time

# Changes refused for the state of the data (409).
conflict-issued-invoice = An issued invoice cannot be changed; void it and issue a new one.
conflict-billed-time = This time entry is billed on an invoice and cannot be changed.
conflict-still-referenced = This { $what } cannot be deleted: other records still refer to it. Remove or move them first.
conflict-changed-elsewhere = This { $what } was changed by someone else (version { $current } is current, you edited { $edited }). Reload the page and try again.

# What an alert says (the admin page, alert mails, the digest). The English forms also go to the
# syslog stream, webhooks and the API.
alert-says-support-signin = Support account "{ $who }" signed in from { $address }.
alert-says-support-action = Support account "{ $who }": { $event } — { $target } (from { $address }).
alert-says-spray-accounts = Failed sign-ins for { $accounts } or more accounts from { $address } within { $seconds } s.
alert-says-spray-addresses = Failed sign-ins for "{ $account }" from { $addresses } or more addresses within { $seconds } s.
alert-says-lockout-wave = { $count } or more accounts locked within { $seconds } s.
alert-says-admin-new-address = Administrator "{ $who }" signed in from { $address }, an address not seen for them in { $days } days.
alert-says-admin-created = New administrator "{ $who }" created by { $by }.
alert-says-admin-joined = "{ $who }" became an administrator (added to { $groups }) by { $by }.
alert-says-group-gained = Group "{ $group }" gained { $permissions } (changed by { $by }).
alert-says-policy-weakened = Policy "{ $setting }" made weaker: { $from } → { $to } (by { $by }).
alert-says-token-created = API token for "{ $service }" created by { $by }.
alert-says-token-new-address = API token of "{ $service }" used from { $address }, an address it had not used before.
alert-says-mass-export = { $who } exported or downloaded { $rows } rows within an hour (threshold { $threshold }).
alert-says-backup-event-failed = { $event } failed: { $details }
alert-says-webhook-failing = Webhook endpoint { $url } ({ $endpoint }) is failing: an event could not be delivered within the retry window and was given up. Later events are still tried. Check the receiver, then send the failed events again from the delivery log.
alert-says-chain-broken = The security log's hash chain is broken at row { $row }: { $reason }. The log may have been tampered with; compare it with the checkpoints kept outside.
alert-says-backup-stale = The newest successful backup ({ $when }) is older than { $hours } hours.
alert-says-backup-never = No backup has succeeded yet, and the watch has run for more than { $hours } hours.
alert-says-verify-failed = The last verification restore of { $destination } failed: { $error }
alert-says-certificate-expired = The certificate { $path } expired { $days ->
    [one] { $days } day
   *[other] { $days } days
} ago.
alert-says-certificate-expires = The certificate { $path } expires in { $days ->
    [one] { $days } day
   *[other] { $days } days
}.
alert-says-disk-low = { $free } MiB free of { $total } MiB on the disk holding { $path } (below { $mib } MiB or { $percent } %).
alert-says-disk-critical = { $free } MiB free of { $total } MiB on the disk holding { $path } (below 1 GiB or 2 %: writes will soon fail).

conflict-invoice-status = This invoice's status is { $status }; this needs an invoice whose status is { $want }.
conflict-no-lines = Add at least one line before issuing.
conflict-void-not-cancel = An issued invoice is voided, with a reason, not cancelled.
conflict-transition = An invoice whose status is { $from } cannot become { $to }.
conflict-not-issued = This invoice is no longer issued.
conflict-no-unbilled-time = This project has no unbilled billable time.
conflict-journal-accounts = The journal's accounts are not set: an administrator sets them on the accounting export page.
conflict-einvoice-draft = A draft has no e-invoice: issue the invoice first.
conflict-einvoice-void = A void invoice is not sent as an e-invoice.
conflict-einvoice-no-profile = The seller's invoice profile is not set: an administrator completes it on the invoice profile page.
conflict-einvoice-no-vat-id = An e-invoice needs the seller's country and VAT ID: an administrator adds them on the invoice profile page.
conflict-einvoice-no-lines = An invoice without lines has no e-invoice.

# Account, group, token and sign-in values refused (pages; the API keeps its English).
account-invalid-notice-long = The notice has at most { $max } characters.
account-invalid-notice-control = The notice may not contain control characters.
account-invalid-no-address = The request has no client address.
account-invalid-code-wrong = The code of your second factor is wrong or has expired.
account-invalid-no-mailed-codes = Your account does not use e-mailed codes.
account-invalid-code-recent = A code was sent less than a minute ago; check your mail.
account-invalid-finish-signin = Finish signing in first.
account-invalid-enrol-reauth = Start the set-up again: confirming a new app needs your password again.
account-invalid-enrol-none = Start the set-up again: no set-up is waiting.
account-invalid-code-long = A code has at most 64 characters.
account-invalid-code-mismatch = That code does not match; check the time on your device and try the next code.
account-invalid-method = The instance's policy does not allow this choice.
account-invalid-service = Name the service in 1–80 characters.
account-invalid-scopes = The scopes "{ $scopes }" are not valid: each is module:read, module:write or module:action, separated by commas (for example clients:read, invoices:write).
account-invalid-network = "{ $value }" is not an address or a network (like 10.1.0.0/16).
account-invalid-token-days = A token lives 1 to { $max } days (the policy's limit); you asked for { $days }.
account-invalid-group-name = Use 2–40 letters, digits, "-" or "_".
account-invalid-group-builtin = "{ $name }" is built in and cannot be deleted.
account-invalid-no-group = There is no group named "{ $name }".
account-invalid-username = Use 2–64 letters, digits, ".", "-", "_" or "@".
account-invalid-email = This is not an e-mail address.
account-invalid-not-support = "{ $name }" is not a support account.
account-invalid-setup-link = This setup link is invalid, used or expired. Ask for a new one with `holdfast admin setup-link` on the server.

# A policy value refused.
policy-error-unknown = "{ $key }" is not a policy setting.
policy-error-not-number = { $setting }: "{ $value }" is not a whole number; the allowed range is { $min }–{ $max }.
policy-error-range = { $setting }: { $value } is outside the allowed range { $min }–{ $max }.
policy-error-choice = { $setting }: "{ $value }" is not one of the choices.
policy-error-duplicate = { $setting }: the setting is stored more than once.

# A value refused by one particular check (pages; the API keeps its English).
problem-date-ymd = Write a date as YYYY-MM-DD.
problem-period-reversed = The period ends before it starts.
problem-period-long = One export covers at most { $days } days.
problem-no-change = This record has no field change with that number.
problem-comment-length = Write 1–{ $max } characters.
problem-not-filter = This is not a filter of this list.
problem-search-empty = Type a word to search for.
problem-sort = Sort by one of: { $options }.
problem-cursor = This paging cursor is not valid; go back to the first page.
problem-decimal-three = Write a number with at most three decimals, like 1.5.
problem-too-large = The number is too large.
problem-line-description = Describe the line in 1–500 characters.
problem-quantity-positive = The quantity must be more than 0.
problem-unit-price = The unit price must be 0 or more.
problem-void-reason = Say why the invoice is void (1–{ $max } characters).
problem-file-empty = The file is empty.
problem-file-too-large = The file is larger than the limit of { $mib } MiB.
problem-file-kind = This kind of file is not accepted. PDF, PNG, JPEG, GIF, Word, Excel, PowerPoint and OpenDocument files without macros, ZIP and plain text are.
problem-file-choose = Choose a file.
problem-csv-choose = Choose a CSV file.
problem-restore-which = Choose which change to restore.
log-invalid-time = "{ $value }" is not a time like 2026-11-22T08:00.
log-invalid-type = "{ $value }" is not an event type.
log-invalid-limit = Show between 1 and 10,000 events.

# What an alert is about (the admin page, alert mails, the digest).
alert-about-address = address { $address }
alert-about-account = account "{ $account }"
alert-about-instance = the whole instance
alert-about-from = { $who } from { $address }
alert-about-setting = policy setting "{ $setting }"
alert-about-token = API token "{ $service }"
alert-about-exporter = { $who } ({ $kind })
alert-about-event = { $event }
alert-about-log = the security log
alert-about-backups = backups
alert-about-verify = verification restore in { $destination }
alert-about-webhook = { $endpoint } ({ $url })
alert-actor-user = user
alert-actor-support = support account
alert-actor-token = API token
alert-actor-console = server console
alert-actor-system = holdfast
alert-actor-anonymous = not signed in
alert-about-group = group "{ $group }"

# Short phrases the security log stores in its details, as the log page words them.
log-value-account-disabled = account disabled
log-value-account-locked = account locked
log-value-support-account-expired = support account expired
log-value-support-account-used-from-outside-its-networks = support account used from outside its networks
log-value-wrong-password = wrong password
log-value-temporary-password-expired = temporary password expired
log-value-unknown-user = unknown user
log-value-replaced-by-a-new-sign-in = replaced by a new sign-in
log-value-unused = not used for too long
log-value-wrong-code-re-authentication = wrong code (confirming a change)
log-value-wrong-current-password = wrong current password
log-value-email = code by e-mail
log-value-totp = authenticator app
log-value-enrolment = setting up a second factor
log-value-sign-in = sign-in
log-value-re-authentication = confirming a change
conflict-einvoice-damaged = This invoice's stored data is inconsistent, so it is not written as an e-invoice. The administrator can find the details in the server log.
conflict-parties-damaged = The seller and buyer details stored with this invoice cannot be read or written. The administrator can find the details in the server log.
conflict-file-not-stored = The file could not be stored. Try again; if it fails again, the administrator can find the details in the server log.
conflict-file-missing = The stored file of this version is missing. An administrator can restore it from a backup.
conflict-file-damaged = The stored file of this version is damaged (it does not match what was stored). An administrator can restore it from a backup.

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

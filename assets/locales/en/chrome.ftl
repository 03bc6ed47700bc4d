# The frame around every page, the dashboard, search and error pages.

skip-to-content = Skip to content
instance = Instance
menu = Menu
nav-main = Main
nav-dashboard = Dashboard
nav-search = Search
nav-admin = Administration
sign-out = Sign out
footer = holdfast { $version } — on-premises, encrypted, yours.

banner-support-open = Vendor support access is open: account “{ $name }” can sign in until { $until }. Revoke it under Administration → Users when it is no longer needed.
banner-open-users = Open users
banner-open-backups = Open backups
banner-open-mail = Open mail
banner-mail-failed =
    { $count ->
        [one] One e-mail message could not be delivered.
       *[other] { $count } e-mail messages could not be delivered.
    }
banner-backup-never = No backup has reached { $place } yet.
banner-backup-old = No backup reached { $place } in the last 26 hours (last: { $last }).
banner-backup-failed = The last backup to { $place } failed: { $error }
banner-backup-verify-failed = The newest archive in { $place } failed its test restore: { $error }

## Dashboard

dashboard = Dashboard
dashboard-greeting = Good to see you, { $name }
dashboard-lead = { $instance } — what is due, what changed, and how the work is going.
dashboard-not-you = If those were not you, tell your administrator.
dashboard-your-sessions = Your sessions
dashboard-due = Due in the next 7 days
dashboard-nothing-due = Nothing due. Enjoy it.
dashboard-recent = Recent activity
dashboard-no-changes = No changes yet.
dashboard-hours = Hours per week
dashboard-outstanding = Invoices outstanding
dashboard-outstanding-link = Every outstanding invoice, oldest due date first
dashboard-burn = Budget burn
dashboard-account = Your account
dashboard-second-factor = Second factor:
dashboard-security-settings = Security settings
dashboard-users = Users
dashboard-groups = Groups
dashboard-policy = Policy
dashboard-security-log = Security log

chart-no-data = No data yet
chart-hours = Hours logged per week
chart-hours-value = { $hours } h
chart-burn = Budget used per active project
chart-outstanding = Outstanding invoices by days past due
aged-not-due = not yet due
aged-1-30 = 1–30 days
aged-31-60 = 31–60 days
aged-61-90 = 61–90 days
aged-over-90 = over 90 days

recent-created = created by { $actor }
recent-changed = { $field } changed by { $actor }

previous-signin = Your previous sign-in was at { $at } from { $source };
previous-failures =
    { $count ->
        [0] no failed attempts since.
        [one] 1 failed attempt since.
       *[other] { $count } failed attempts since.
    }

## Search

search = Search
search-heading = Search everything
search-words = Words
search-button = Search
search-results =
    { $count ->
        [0] No results among each module's newest records.
        [one] One result: the best match among each module's newest records.
       *[other] { $count } results: the best matches among each module's newest records.
    }
search-every-match = Every match, with filters and paging:

## Errors

error-back = Back to the start page
error-title = Error
status-400 = Bad request
status-401 = Sign-in required
status-403 = Not allowed
status-404 = Not found
status-405 = Not allowed here
status-409 = Conflict
status-413 = Too large
status-422 = Not accepted
status-429 = Too many attempts
status-500 = Server error
status-503 = Not available
error-not-found = This page does not exist.
error-not-ready = holdfast is starting or stopping. Try again in a moment.
error-unauthenticated = Please sign in.
error-forbidden = Your groups do not allow this. Ask an administrator if you need it.
error-csrf = The form was not accepted because it did not come from this page. Reload the page and try again.
error-signin-failed = The user name or password is wrong, or this account cannot sign in. After repeated failures the account is locked until an administrator unlocks it.
error-throttled = Too many failed attempts from your address. Try again in { $seconds } seconds.
error-busy = The server is busy. Try again in a moment.
error-too-large = The request is too large: this address accepts at most { $limit }.
error-internal = Something went wrong on the server. The administrator can find the details in the log.
error-invalid-file =
    { $count ->
        [one] The file has one problem; nothing was imported.
       *[other] The file has { $count } problems; nothing was imported.
    }

## Words the schema's names become on pages

value-yes = yes
value-no = no
factor-totp = authenticator app
factor-email = e-mailed code
factor-none = none

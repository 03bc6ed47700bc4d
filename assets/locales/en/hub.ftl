# The business modules: lists, forms, cards, import, invoices.

## Module names, one record of each, field labels

module-clients = Clients
module-clients-one = client
module-contacts = Contacts
module-contacts-one = contact
module-projects = Projects
module-projects-one = project
module-tasks = Tasks
module-tasks-one = task
module-time-entries = Time
module-time-entries-one = time entry
module-invoices = Invoices
module-invoices-one = invoice
module-documents = Documents
module-documents-one = document

field-clients-name = Name
field-clients-tax_id = Tax id
field-clients-email = E-mail
field-clients-phone = Phone
field-clients-address = Address
field-clients-status = Status
field-clients-notes = Notes
field-contacts-name = Name
field-contacts-client_id = Client
field-contacts-role = Role
field-contacts-email = E-mail
field-contacts-phone = Phone
field-contacts-notes = Notes
field-projects-name = Name
field-projects-client_id = Client
field-projects-manager = Manager
field-projects-status = Status
field-projects-start_date = Start
field-projects-end_date = End
field-projects-budget_hours = Budget (hours)
field-projects-budget_amount = Budget
field-projects-hourly_rate = Hourly rate
field-projects-currency = Currency
field-projects-notes = Notes
field-tasks-title = Title
field-tasks-project_id = Project
field-tasks-assignee = Assignee
field-tasks-status = Status
field-tasks-priority = Priority
field-tasks-due_date = Due
field-tasks-estimate_minutes = Estimate (minutes)
field-tasks-notes = Notes
field-time-entries-user = User
field-time-entries-project_id = Project
field-time-entries-task_id = Task
field-time-entries-date = Date
field-time-entries-minutes = Minutes
field-time-entries-billable = Billable
field-time-entries-note = Note
field-time-entries-invoice_id = Billed on invoice
field-invoices-client_id = Client
field-invoices-project_id = Project
field-invoices-issue_date = Issue date
field-invoices-due_date = Due date
field-invoices-currency = Currency
field-invoices-notes = Notes
field-invoices-number = Number
field-invoices-status = Status
field-invoices-subtotal = Subtotal
field-invoices-tax_total = Tax
field-invoices-total = Total
field-invoices-issued_at = Issued at
field-invoices-paid_at = Paid at
field-invoices-void_reason = Reason for voiding
field-documents-title = Title
field-documents-client_id = Client
field-documents-project_id = Project
field-documents-current_version = Current version

field-updated-at = Last changed

## Choice values

choice-active = Active
choice-prospect = Prospect
choice-inactive = Inactive
choice-planned = Planned
choice-on_hold = On hold
choice-completed = Completed
choice-cancelled = Cancelled
choice-open = Open
choice-in_progress = In progress
choice-blocked = Blocked
choice-done = Done
choice-low = Low
choice-normal = Normal
choice-high = High
choice-urgent = Urgent
choice-draft = Draft
choice-issued = Issued
choice-paid = Paid
choice-void = Void

## Lists and forms

list-export = Export CSV
list-import = Import CSV
list-search-placeholder = Words to find
list-any = any
list-sort = Sort
list-newest = newest first
list-show = Show
list-empty = Nothing here yet.
list-next = Next page
invoice-column = Invoice
invoice-draft-id = Draft #{ $id }
form-new = New { $what }
form-edit = Edit { $what }
form-required = (required)
form-save = Save
form-cancel = Cancel
form-correct = Please correct the marked fields.

money-empty = write an amount
money-negative = must be 0 or more
money-not-a-number = write an amount with digits only, like { $example }
money-decimals = write at most 2 decimals
money-grouping = the digit groups are not in threes; write it like { $grouped } or { $plain }
money-too-large = must be at most { $max }

## Record cards

card-edit = Edit
card-delete = Delete
card-delete-confirm = Delete this { $what }?
card-details = Details
card-none-yet = None yet.
card-add = Add
card-comments = Comments
card-no-comments = No comments yet.
card-add-comment = Add a comment
card-post-comment = Post comment
card-history = History
card-created-by = Created by { $actor } on
card-restore = Restore the earlier values
card-invoice-time = Invoice unbilled time
card-lines = Lines
card-description = Description
card-qty = Qty
card-quantity = Quantity
card-unit-price = Unit price
card-tax = Tax
card-tax-rate = Tax rate
card-net = Net
card-remove = Remove
card-add-line = Add line
card-issue = Issue invoice
card-discard = Discard draft
card-mark-paid = Mark paid

done-issued = Invoice issued. Its number is on the card.
done-paid = Marked paid.
done-discarded = Draft discarded.
done-voided = Invoice voided. Its number stays taken.
done-line-added = Line added.
done-line-removed = Line removed.
done-commented = Comment added.
done-restored = The earlier values are back.
done-uploaded = A new version was uploaded.

void-title = Void invoice { $number }
void-explain = Voiding withdraws invoice { $number } ({ $total }). It cannot be undone. The invoice keeps its number, which is never given to another invoice; its time entries can be billed again. The reason is kept with the invoice and in the security log.
void-reason = Reason for voiding
void-button = Void invoice
void-keep = Keep the invoice

doc-versions = Versions
doc-no-file = No file uploaded yet.
doc-upload-label = Upload a new version
doc-upload = Upload
doc-print-view = Invoice document (print view)
doc-download-pdf = Download PDF

## CSV import

import-title = Import { $module }
import-heading = Import { $module } from CSV
import-hint-header = UTF-8 with a header row. Columns:
import-hint-whole = The whole file is imported in one step: if any row has a problem, nothing is imported and every problem is listed with its row and column.
import-row = Row
import-column = Column
import-field = Field
import-problem = Problem
import-file = CSV file
import-check = Check the file
import-checked =
    { $count ->
        [one] One row checked: all good. Nothing is saved until you confirm.
       *[other] { $count } rows checked: all good. Nothing is saved until you confirm.
    }
import-confirm =
    { $count ->
        [one] Import one row
       *[other] Import { $count } rows
    }
import-done =
    { $count ->
        [one] Imported 1 row.
       *[other] Imported { $count } rows.
    }

## The invoice document (HTML and PDF), in the language invoices are written in

invdoc-title = Invoice { $number }
invdoc-draft-title = Draft invoice (not issued)
invdoc-mark-draft = DRAFT
invdoc-mark-paid = PAID
invdoc-mark-void = VOID
invdoc-number = Invoice number
invdoc-issue-date = Issue date
invdoc-not-issued = not issued
invdoc-due-date = Due date
invdoc-paid-on = Paid on
invdoc-draft-warning = This is a draft: it has no number yet and is not an invoice.
invdoc-tax-id = Tax ID: { $id }
invdoc-seller-missing = Seller details are not set: an administrator enters them under Administration → Invoice profile.
invdoc-seller = Seller
invdoc-buyer = Buyer
invdoc-lines = Lines
invdoc-description = Description
invdoc-quantity = Quantity
invdoc-unit-price = Unit price ({ $currency })
invdoc-tax-rate = Tax rate
invdoc-net = Net ({ $currency })
invdoc-no-lines = No lines yet.
invdoc-tax-summary = Tax summary
invdoc-rate = Rate
invdoc-tax = Tax ({ $currency })
invdoc-gross = Gross ({ $currency })
invdoc-total-net = Total net
invdoc-tax-total = Tax
invdoc-total = Total
invdoc-payment = Payment
invdoc-void-note = This invoice is void: do not pay it.
invdoc-paid-note = This invoice has been paid. Thank you.
invdoc-bank = Bank account
invdoc-reference = Payment reference
invdoc-pay-by = Pay by
invdoc-amount = Amount
invdoc-notes = Notes
invdoc-page = { $title } · page { $page } of { $pages }
invdoc-invoice-card = Invoice card
invdoc-print-hint = To print, use the browser's print command: menus and buttons are left out.
invdoc-seller-link = Enter the seller's details

## Why a value was refused

problem-required = is required
problem-cannot-be-empty = cannot be empty
problem-not-single = must be a single value, not a list or object
problem-too-long = at most { $max } characters
problem-not-one-line = must be a single line without control characters
problem-not-email = is not an e-mail address
problem-not-date = must be a date like 2026-11-22
problem-not-bool = must be true or false
problem-not-whole = must be a whole number
problem-out-of-range = must be between { $min } and { $max }
problem-not-cents = must be a whole number of cents
problem-cents-range = must be between 0 and 1,000,000,000,000 cents
problem-not-choice = must be one of: { $options }
problem-not-id = must be the id of a record
problem-no-record = no { $what } with id { $id }
problem-no-user = no user named { $name }

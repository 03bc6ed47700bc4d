# einvoice: strony tej integracji (issue 15).

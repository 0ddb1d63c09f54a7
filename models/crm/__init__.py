"""The relationship manager's day: customer events become leads under the contact rules."""

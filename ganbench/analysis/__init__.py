"""Statistical core of the reports and claims: pure functions, numbers in and dataclasses out."""

"""The weekly digest at the service's edge: frames from the mirror, sending once, the schedule.

`reports` computes and renders from plain data; this package reads the database and mails."""

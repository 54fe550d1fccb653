"""What a player collects beyond coins: stamps and their triggers, and match ratings.
Pure rules and catalogues: no database, no transport."""

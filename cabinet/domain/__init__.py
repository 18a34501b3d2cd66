"""Pure rules of the cabinet: dose timing, stock picking, weighing, roles, refusals."""

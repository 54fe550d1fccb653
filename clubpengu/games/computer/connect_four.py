"""Connect Four by negamax with alpha-beta pruning, iterative deepening and a table of the
positions already searched, on bitboards.

The search needs tens of thousands of positions a move, which the dict states and their
copies in `ConnectFour.apply` make too slow; so it mirrors the rules on two integers (the
discs of the seat to move and of the other), with the same board size, gravity and lines
(tests check the mirror against the game's own `apply` and outcome over random games). Only
columns the game's `legal_moves` lists are ever played.

Bit `column * HEIGHT + row` is a cell (row 0 at the bottom); the extra bit on top of each
column is always empty, so a line never wraps from one column into the next.
"""

from __future__ import annotations

import random

from clubpengu.games.base import Move, State
from clubpengu.games.computer.levels import Budget
from clubpengu.games.computer.search import WIN, BudgetSpent, NodeCounter, pick_best
from clubpengu.games.connect_four import COLUMNS, ROWS

HEIGHT = ROWS + 1
CELLS = COLUMNS * ROWS
# Centre first: a disc in the middle column takes part in the most lines, so trying it
# first finds good moves early and lets alpha-beta prune more.
CENTRE_FIRST = tuple(sorted(range(COLUMNS), key=lambda column: abs(column - COLUMNS // 2)))
BOTTOM = [1 << (column * HEIGHT) for column in range(COLUMNS)]
TOP = [1 << (column * HEIGHT + ROWS - 1) for column in range(COLUMNS)]
COLUMN_MASK = [((1 << ROWS) - 1) << (column * HEIGHT) for column in range(COLUMNS)]
BOARD = sum(COLUMN_MASK)
CENTRE_COLUMN = COLUMN_MASK[COLUMNS // 2]
# Vertical, horizontal and both diagonals, as distances between neighbouring bits.
SHIFTS = (1, HEIGHT, HEIGHT - 1, HEIGHT + 1)
BOTTOM_ROW = sum(BOTTOM)
# Heuristic weights, far below WIN.
THREAT, CENTRE = 10, 3
INFINITY = 2 * WIN

EXACT, LOWER, UPPER = 0, 1, 2


def bitboards(board: list[list[object]], seat: int) -> tuple[int, int]:
    """The discs of `seat` and of the other seat, from the game's `board[row][column]`."""
    mine = theirs = 0
    for row in range(ROWS):
        for column in range(COLUMNS):
            owner = board[row][column]
            if owner is not None:
                bit = 1 << (column * HEIGHT + row)
                if owner == seat:
                    mine |= bit
                else:
                    theirs |= bit
    return mine, theirs


def drop(occupied: int, column: int) -> int:
    """The bit of the lowest free cell of `column` (the column must not be full)."""
    return (occupied + BOTTOM[column]) & COLUMN_MASK[column]


def has_four(discs: int) -> bool:
    for shift in SHIFTS:
        pairs = discs & (discs >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


def line_ends(discs: int) -> int:
    """The cells, taken or not, that would complete a line of four for `discs`: at either
    end of three in a line, or in the gap of three with one missing. Depends on `discs`
    alone, so a search passes it down to where the same seat moves again."""
    cells = (discs << 1) & (discs << 2) & (discs << 3)  # on top of three in a column
    for shift in SHIFTS[1:]:
        pair = (discs << shift) & (discs << (2 * shift))
        cells |= pair & ((discs << (3 * shift)) | (discs >> shift))
        pair = (discs >> shift) & (discs >> (2 * shift))
        cells |= pair & ((discs >> (3 * shift)) | (discs << shift))
    return cells & BOARD


def playable(occupied: int) -> int:
    """The lowest free cell of every column that is not full."""
    return (occupied + BOTTOM_ROW) & BOARD


def evaluate(mine: int, theirs: int, my_cells: int, their_cells: int) -> int:
    """How good a quiet position looks for the seat whose discs are `mine`: cells where a
    disc would make four (threats) count most, discs in the centre column a little."""
    threats = my_cells.bit_count() - their_cells.bit_count()
    centre = (mine & CENTRE_COLUMN).bit_count() - (theirs & CENTRE_COLUMN).bit_count()
    return THREAT * threats + CENTRE * centre


class _Negamax:
    def __init__(self, counter: NodeCounter) -> None:
        self.counter = counter
        # (mine, theirs) -> (depth, bound, value, best column); a position's discs fix its ply.
        self.table: dict[tuple[int, int], tuple[int, int, int, int]] = {}

    def value(
        self, mine: int, theirs: int, my_ends: int, depth: int, alpha: int, beta: int, ply: int
    ) -> int:
        """The value for the seat to move (`mine`, whose `line_ends` are `my_ends`),
        searched `depth` plies, within the window (alpha, beta): outside it, only a bound."""
        self.counter.tick()
        occupied = mine | theirs
        moves = playable(occupied)
        if not moves:
            return 0
        my_cells = my_ends & ~occupied
        if my_cells & moves:
            return WIN - ply - 1
        their_ends = line_ends(theirs)
        their_cells = their_ends & ~occupied
        # A four the other seat makes on its next move must be blocked; two cannot be, and
        # a disc right under a cell where they would make four only hands it to them.
        forced = their_cells & moves
        if forced & (forced - 1):
            return -(WIN - ply - 2)
        safe = (forced or moves) & ~(their_cells >> 1)
        if not safe:
            return -(WIN - ply - 2)
        if depth == 0:
            return evaluate(mine, theirs, my_cells, their_cells)
        columns = [column for column in CENTRE_FIRST if safe & COLUMN_MASK[column]]
        entry = self.table.get((mine, theirs))
        if entry is not None:
            stored_depth, bound, stored, best_column = entry
            if stored_depth >= depth:
                if bound == EXACT:
                    return stored
                if bound == LOWER:
                    alpha = max(alpha, stored)
                else:
                    beta = min(beta, stored)
                if alpha >= beta:
                    return stored
            if best_column in columns:
                columns.remove(best_column)
                columns.insert(0, best_column)
        return self._children(mine, theirs, their_ends, columns, depth, alpha, beta, ply)

    def _children(
        self,
        mine: int,
        theirs: int,
        their_ends: int,
        columns: list[int],
        depth: int,
        alpha: int,
        beta: int,
        ply: int,
    ) -> int:
        occupied = mine | theirs
        start_alpha, best, best_column = alpha, -INFINITY, columns[0]
        for column in columns:
            score = -self.value(
                theirs, mine | drop(occupied, column), their_ends, depth - 1, -beta, -alpha, ply + 1
            )
            if score > best:
                best, best_column = score, column
            alpha = max(alpha, score)
            if alpha >= beta:
                break
        bound = UPPER if best <= start_alpha else LOWER if best >= beta else EXACT
        self.table[(mine, theirs)] = (depth, bound, best, best_column)
        return best

    def root(self, mine: int, theirs: int, columns: list[int], depth: int) -> list[int]:
        """A score per column; every column that could tie the best gets its exact score
        (the window stays one below the best so far), the others an upper bound."""
        occupied = mine | theirs
        their_ends = line_ends(theirs)
        scores, best = [], -INFINITY
        for column in columns:
            bit = drop(occupied, column)
            if has_four(mine | bit):
                score = WIN - 1
            else:
                score = -self.value(
                    theirs, mine | bit, their_ends, depth - 1, -INFINITY, -(best - 1), 1
                )
            scores.append(score)
            best = max(best, score)
        return scores


def choose(view: State, legal: list[Move], budget: Budget, rng: random.Random) -> Move:
    """Deepen one ply at a time until the budget's depth or nodes run out, or the game is
    searched to its end; play the best column of the deepest search completed."""
    mine, theirs = bitboards(view["board"], view["seat"])
    allowed = {move["column"] for move in legal}
    columns = [column for column in CENTRE_FIRST if column in allowed]
    search = _Negamax(NodeCounter(budget.nodes))
    empties = CELLS - (mine | theirs).bit_count()
    scores: list[int] | None = None
    for depth in range(1, min(budget.depth, empties) + 1):
        try:
            found = search.root(mine, theirs, columns, depth)
        except BudgetSpent:
            break
        # The next search tries the best columns first; sorted() keeps centre-first ties.
        ranked = sorted(zip(found, columns, strict=True), key=lambda pair: -pair[0])
        scores, columns = [score for score, _ in ranked], [column for _, column in ranked]
        if abs(scores[0]) >= WIN - CELLS:
            break  # the game's result is known: deeper looks cannot change it
    if scores is None:
        return {"column": columns[0]}
    return {"column": pick_best(columns, scores, rng)}

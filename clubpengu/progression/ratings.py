"""Match ratings by Glicko-2 (Mark E. Glickman, "Example of the Glicko-2 system", 2013).

A rating is three numbers: the rating itself (1500 to start), its deviation RD (350 to
start: how unsure it is) and the volatility (how erratic the player's results are). Each
match is its own rating period, so ratings change as matches end, one update per seat,
each against the other's rating from before the match.

Why Glicko-2 rather than Elo: the deviation makes a newcomer's rating move fast and a
settled player's slowly, without a K-factor table; and it says which ratings are still
guesses (`provisional`), so a leaderboard can keep one lucky new wallet off its top.
Why written here: the PyPI packages for it are unmaintained or untyped with mutable
players (glicko2), or pull numpy and scipy for a page of arithmetic (elote).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Glicko-2 works on its own scale: mu = (rating - 1500) / SCALE, phi = RD / SCALE.
SCALE = 173.7178
START_RATING = 1500.0
START_DEVIATION = 350.0
START_VOLATILITY = 0.06
# The system constant: how much the volatility may change. The paper suggests 0.3 to 1.2;
# its example, and most implementations, use 0.5.
TAU = 0.5
# A deviation is never above a newcomer's: time away makes a rating no less known than none.
MAX_DEVIATION = START_DEVIATION
# Above this deviation a rating is still settling (the threshold lichess uses).
PROVISIONAL_DEVIATION = 110.0
# The paper's convergence tolerance for the new volatility, and a bound on the iterations
# (its Illinois method converges in well under twenty).
EPSILON = 0.000001
MAX_ITERATIONS = 100

WIN, DRAW, LOSS = 1.0, 0.5, 0.0


@dataclass(frozen=True, slots=True)
class Rating:
    rating: float = START_RATING
    deviation: float = START_DEVIATION
    volatility: float = START_VOLATILITY

    def __post_init__(self) -> None:
        if not all(map(math.isfinite, (self.rating, self.deviation, self.volatility))):
            raise ValueError("a rating's numbers must be finite")
        if self.deviation <= 0 or self.volatility <= 0:
            raise ValueError("a rating's deviation and volatility must be above zero")

    @property
    def provisional(self) -> bool:
        return self.deviation > PROVISIONAL_DEVIATION

    @property
    def conservative(self) -> float:
        """A rating the player is about 95 % sure to be above: what to rank by if a board
        should favour proven players over lucky new ones."""
        return self.rating - 2 * self.deviation


def rate(winner: Rating, loser: Rating, draw: bool = False) -> tuple[Rating, Rating]:
    """Both ratings after one match: `winner` beat `loser`, or with `draw` they drew
    (then the order does not matter). Each is updated against the other's old rating."""
    first, second = (DRAW, DRAW) if draw else (WIN, LOSS)
    return update(winner, [(loser, first)]), update(loser, [(winner, second)])


def update(player: Rating, results: Sequence[tuple[Rating, float]], tau: float = TAU) -> Rating:
    """The player's rating after one rating period of `results`: (opponent, score) pairs
    with score 1 for a win, 0.5 a draw, 0 a loss (steps 2 to 8 of the paper). No results
    is a period without play: only the deviation grows (`idle`)."""
    if not results:
        return idle(player)
    if any(not 0.0 <= score <= 1.0 for _, score in results):
        raise ValueError("a score is 1 for a win, 0.5 for a draw and 0 for a loss")
    mu, phi = _to_glicko2(player)
    games = [(*_to_glicko2(opponent), score) for opponent, score in results]
    inverse_variance, improvement_sum = 0.0, 0.0
    for opponent_mu, opponent_phi, score in games:
        weight = _g(opponent_phi)
        expected = _expected(mu, opponent_mu, weight)
        inverse_variance += weight**2 * expected * (1 - expected)
        improvement_sum += weight * (score - expected)
    variance = 1 / inverse_variance
    delta = variance * improvement_sum
    volatility = _new_volatility(phi, player.volatility, variance, delta, tau)
    phi_star = math.sqrt(phi**2 + volatility**2)
    new_phi = 1 / math.sqrt(1 / phi_star**2 + 1 / variance)
    new_mu = mu + new_phi**2 * improvement_sum
    return Rating(
        rating=SCALE * new_mu + START_RATING,
        deviation=min(SCALE * new_phi, MAX_DEVIATION),
        volatility=volatility,
    )


def idle(player: Rating, periods: int = 1) -> Rating:
    """The rating after `periods` rating periods without a match: the same rating, a
    deviation grown by the volatility each period (step 6 of the paper), at most 350."""
    if periods < 0:
        raise ValueError("periods cannot be negative")
    phi = player.deviation / SCALE
    grown = math.sqrt(phi**2 + periods * player.volatility**2) * SCALE
    return Rating(player.rating, min(grown, MAX_DEVIATION), player.volatility)


def _to_glicko2(rating: Rating) -> tuple[float, float]:
    return (rating.rating - START_RATING) / SCALE, rating.deviation / SCALE


def _g(phi: float) -> float:
    return 1 / math.sqrt(1 + 3 * phi**2 / math.pi**2)


def _expected(mu: float, opponent_mu: float, weight: float) -> float:
    return 1 / (1 + math.exp(-weight * (mu - opponent_mu)))


def _new_volatility(phi: float, sigma: float, variance: float, delta: float, tau: float) -> float:
    """Step 5: the root of f by the Illinois algorithm, as the paper gives it."""
    a = math.log(sigma**2)

    def f(x: float) -> float:
        ex = math.exp(x)
        return (
            ex * (delta**2 - phi**2 - variance - ex) / (2 * (phi**2 + variance + ex) ** 2)
            - (x - a) / tau**2
        )

    low = a
    if delta**2 > phi**2 + variance:
        high = math.log(delta**2 - phi**2 - variance)
    else:
        k = 1
        while f(a - k * tau) < 0 and k < MAX_ITERATIONS:
            k += 1
        high = a - k * tau
    f_low, f_high = f(low), f(high)
    for _ in range(MAX_ITERATIONS):
        if abs(high - low) <= EPSILON:
            break
        new = low + (low - high) * f_low / (f_high - f_low)
        f_new = f(new)
        if f_new * f_high <= 0:
            low, f_low = high, f_high
        else:
            f_low /= 2
        high, f_high = new, f_new
    return math.exp(low / 2)

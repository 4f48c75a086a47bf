# Reference values for tests/models/test_power.py: the noncentrality per runner of the
# likelihood-ratio test of one factor in a logistic model (Self, Mauritsen & Ohara 1992),
# computed two independent ways in R, for the designs of power_simulation.R and a few more.
#   Rscript tests/models/reference/power_noncentrality.R   (run from the repository root;
#   writes tests/models/reference/power_noncentrality.json; a few seconds)
# Needs Debian's r-base-core r-cran-jsonlite.
#
# delta = 2 E_X[ KL( Bernoulli(p(X)) || Bernoulli(P) ) ], P = E[p(X)]:
#   1. "integrate": R's adaptive quadrature of the KL divergence over the factor's density
#      (a sum over the two levels for a binary factor);
#   2. "exemplary": O'Brien's exemplary data set - every point x of a fine grid (density
#      weights, trapezoid rule over +-12 SD) entered twice, as y = 1 with weight w p(x) and as
#      y = 0 with weight w (1 - p(x)); delta = (deviance of glm(y ~ 1) - deviance of
#      glm(y ~ x)) / sum of weights. The glm recovers the true coefficients.
# With adjustment (r2_other > 0; Z as in power_simulation.R: Z = sqrt(r2) (X - E X) / SD(X) +
# sqrt(1 - r2) e, Z without effect on Y given X) the exemplary data set is a grid over (x, e)
# and delta_adjusted = (deviance of glm(y ~ z) - deviance of glm(y ~ x + z)) / sum of
# weights: the exact large-sample noncentrality, against which the variance-inflation
# approximation delta (1 - r2) is compared.
suppressPackageStartupMessages(library(jsonlite))

designs <- read.table(header = TRUE, stringsAsFactors = FALSE, text = "
id         scale      effect incidence r2_other exposed
smd_a      smd          0.20      0.10      0.0      NA
smd_b      smd          0.20      0.30      0.3      NA
smd_d      smd          0.30      0.05      0.0      NA
smd_f      smd          0.50      0.05      0.3      NA
smd_h      smd         -0.69      0.10      0.0      NA
smd_mil    smd         -0.69      0.11      0.0      NA
smd_i      smd          0.70      0.05      0.3      NA
smd_l      smd          0.80      0.30      0.3      NA
smd_big    smd          1.50      0.20      0.0      NA
or_sd_a    or_per_sd    1.25      0.10      0.0      NA
or_sd_c    or_per_sd    1.50      0.20      0.3      NA
or_sd_e    or_per_sd    2.20      0.05      0.3      NA
or_sd_f    or_per_sd    0.50      0.30      0.0      NA
or_sd_g    or_per_sd    3.00      0.20      0.0      NA
or_bin_a   or_binary    2.00      0.10      0.0     0.3
or_bin_b   or_binary    1.50      0.20      0.3     0.5
or_bin_c   or_binary    3.00      0.05      0.0     0.2
or_bin_d   or_binary    0.50      0.15      0.0     0.4
")

expit <- function(x) 1 / (1 + exp(-x))
kl <- function(p, P) p * log(p / P) + (1 - p) * log((1 - p) / (1 - P))

intercept <- function(beta, p, B = NA) {
  if (is.na(B)) {
    f <- function(b0) integrate(function(x) expit(b0 + beta * x) * dnorm(x), -Inf, Inf,
                                rel.tol = 1e-12)$value - p
  } else {
    f <- function(b0) (1 - B) * expit(b0) + B * expit(b0 + beta) - p
  }
  s <- qlogis(p)
  uniroot(f, c(s - 10 - 10 * abs(beta), s + 10 + 10 * abs(beta)), tol = 1e-13)$root
}

# The design as: density of X (continuous) or levels (binary), p(x), and X's mean and SD.
model <- function(d) {
  P <- d$incidence
  if (d$scale == "smd") {
    e <- d$effect
    list(dens = function(x) P * dnorm(x, e) + (1 - P) * dnorm(x),
         p = function(x) expit(qlogis(P) + e * x - e^2 / 2),
         mean = P * e, sd = sqrt(1 + P * (1 - P) * e^2), lo = min(0, e) - 12, hi = max(0, e) + 12)
  } else if (d$scale == "or_per_sd") {
    beta <- log(d$effect); b0 <- intercept(beta, P)
    list(dens = dnorm, p = function(x) expit(b0 + beta * x), mean = 0, sd = 1, lo = -12,
         hi = 12, b0 = b0)
  } else {
    beta <- log(d$effect); B <- d$exposed; b0 <- intercept(beta, P, B)
    list(levels = c(0, 1), probs = c(1 - B, B), p = function(x) expit(b0 + beta * x),
         mean = B, sd = sqrt(B * (1 - B)), b0 = b0)
  }
}

by_integrate <- function(m, P) {
  if (!is.null(m$levels)) return(2 * sum(m$probs * kl(m$p(m$levels), P)))
  2 * integrate(function(x) m$dens(x) * kl(m$p(x), P), m$lo, m$hi, rel.tol = 1e-12,
                subdivisions = 1000L)$value
}

grid_points <- function(m, k = 40001) {
  if (!is.null(m$levels)) return(list(x = m$levels, w = m$probs))
  x <- seq(m$lo, m$hi, length.out = k)
  w <- m$dens(x) * (x[2] - x[1]); w[c(1, k)] <- w[c(1, k)] / 2
  list(x = x, w = w / sum(w))
}

exemplary <- function(x, w, p, extra = NULL) {
  y <- rep(c(1, 0), each = length(x))
  wt <- c(w * p, w * (1 - p))
  dat <- data.frame(y = y, x = rep(x, 2), wt = wt)
  if (!is.null(extra)) dat$z <- rep(extra, 2)
  f <- if (is.null(extra)) y ~ x else y ~ x + z
  r <- if (is.null(extra)) y ~ 1 else y ~ z
  ctl <- glm.control(epsilon = 1e-14, maxit = 100)
  full <- suppressWarnings(glm(f, binomial, dat, weights = wt, control = ctl))
  red <- suppressWarnings(glm(r, binomial, dat, weights = wt, control = ctl))
  list(delta = (red$deviance - full$deviance) / sum(wt), coef = unname(coef(full)))
}

rows <- lapply(seq_len(nrow(designs)), function(i) {
  d <- designs[i, ]
  m <- model(d)
  P <- d$incidence
  g <- grid_points(m)
  ex <- exemplary(g$x, g$w, m$p(g$x))
  out <- list(id = d$id, scale = d$scale, effect = d$effect, incidence = P,
              r2_other = d$r2_other, exposed = d$exposed,
              delta_integrate = by_integrate(m, P), delta_exemplary = ex$delta,
              exemplary_slope = ex$coef[2])
  if (d$r2_other > 0) {
    # (x, e) grid: x as above (coarser), e ~ N(0, 1) on 161 points; Z from both
    gx <- if (is.null(m$levels)) grid_points(m, 1201) else g
    e <- seq(-8, 8, length.out = 161); we <- dnorm(e); we <- we / sum(we)
    X <- rep(gx$x, each = length(e)); W <- rep(gx$w, each = length(e)) * rep(we, length(gx$x))
    Z <- sqrt(d$r2_other) * (X - m$mean) / m$sd + sqrt(1 - d$r2_other) * rep(e, length(gx$x))
    out$delta_adjusted_exemplary <- exemplary(X, W, m$p(X), extra = Z)$delta
  }
  out
})

write_json(list(R = R.version.string, note = paste(
  "delta per runner analysed of the LR test of one factor; see the header of",
  "power_noncentrality.R"), designs = rows),
  "tests/models/reference/power_noncentrality.json", auto_unbox = TRUE, digits = NA, na = "null",
  pretty = TRUE)
cat("wrote tests/models/reference/power_noncentrality.json\n")

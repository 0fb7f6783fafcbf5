# R survival's coxph, survdiff and survfit on the simulated cohort (survival_cohort.csv, from
# make_survival_cohort.py) and on GSE7390 (Desmedt et al. 2007, the ARFF shipped with scikit-survival; the data file
# is not in this repository): reference outputs for drugprint's survival tests. Run from the repository root:
#   Rscript tests/data/make_survival_reference.R [path/to/breast_cancer_GSE7390-metastasis.arff]
# (default ../shared/data/gse7390_breast_survival/breast_cancer_GSE7390-metastasis.arff).
#
# Rules (the Python side must follow them):
# * Cox: coxph(Surv(time, event) ~ score + covariates, ties = "efron") on the complete cases of time, event, score
#   and the model's covariates; score standardised over those cases, (x - mean) / sd (n - 1). Model "none": the
#   score alone; "adjusted": simulated age + stage (factor, levels I < II < III), gse7390 age + size + er (factor,
#   levels negative < positive). Wald z and two-sided p; 95 % CI exp(coef -/+ qnorm(0.975) se). For the score term
#   the likelihood-ratio chi-square (df 1) against the covariates alone on the same cases (none: the null model).
# * Log-rank and Kaplan-Meier on the samples with a score, time and event (covariates ignored). Median split: "high"
#   if score > median else "low"; tertiles: q = quantile(score, c(1/3, 2/3), type = 7), "low" if score <= q1, "mid"
#   if q1 < score <= q2, else "high". KM (median split only): survfit(conf.type = "log-log"), conf 0.95, one row
#   per distinct time (events or censorings) of each group; lower and upper are NA where surv is 1 (before the
#   first event) or 0.
# * Signature score on gse7390: per sample, the 76 probe columns (X...) ranked ascending (ties "average");
#   up set = probe columns 1-10 in file order, down set = probe columns 11-20; for a set of n of N = 76 genes,
#   (mean rank - (n + 1) / 2) / ((2N - n + 1) / 2 - (n + 1) / 2) - 0.5, the down set on N + 1 - rank; score =
#   round(up + down, 10) (exact ties: see below), the score used in every model and split.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
arff <- if (length(args) >= 1) args[1] else
  "../shared/data/gse7390_breast_survival/breast_cancer_GSE7390-metastasis.arff"
here <- "tests/data"

read_arff <- function(path) {
  lines <- readLines(path)
  lines <- lines[!grepl("^\\s*%", lines) & nzchar(trimws(lines))]
  attr_lines <- grep("^@attribute", lines, ignore.case = TRUE, value = TRUE)
  cols <- sub("^@attribute\\s+(\\S+)\\s+.*$", "\\1", attr_lines, ignore.case = TRUE)
  start <- grep("^@data", lines, ignore.case = TRUE)
  read.csv(text = lines[(start + 1):length(lines)], header = FALSE, col.names = cols, na.strings = "?",
           stringsAsFactors = FALSE, check.names = FALSE, strip.white = TRUE)
}

ctrl <- coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 100)  # toler.chol < eps, else a warning

cox_rows <- function(d, cohort, score, endpoint, covars) {
  out <- list()
  for (model in c("none", "adjusted")) {
    cv <- if (model == "none") character(0) else covars
    dd <- d[complete.cases(d[, c("time", "event", "score", cv)]), ]
    dd$score <- (dd$score - mean(dd$score)) / sd(dd$score)
    f <- as.formula(paste("Surv(time, event) ~", paste(c("score", cv), collapse = " + ")))
    fit <- coxph(f, data = dd, ties = "efron", control = ctrl)
    if (model == "none") {
      lr <- 2 * (fit$loglik[2] - fit$loglik[1])
    } else {
      f0 <- as.formula(paste("Surv(time, event) ~", paste(cv, collapse = " + ")))
      fit0 <- coxph(f0, data = dd, ties = "efron", control = ctrl)
      lr <- 2 * (fit$loglik[2] - fit0$loglik[2])
    }
    b <- coef(fit)
    se <- sqrt(diag(vcov(fit)))
    z <- b / se
    q <- qnorm(0.975)
    out[[model]] <- data.frame(
      cohort = cohort, score = score, endpoint = endpoint, model = model, term = names(b), n = fit$n,
      n_events = fit$nevent, coef = b, se = se, hr = exp(b), hr_lo = exp(b - q * se), hr_hi = exp(b + q * se),
      z = z, pvalue = 2 * pnorm(-abs(z)),
      lr_chisq = ifelse(names(b) == "score", lr, NA),
      lr_pvalue = ifelse(names(b) == "score", pchisq(lr, 1, lower.tail = FALSE), NA)
    )
  }
  do.call(rbind, out)
}

groups <- function(x, split) {
  if (split == "median") {
    factor(ifelse(x > median(x), "high", "low"), levels = c("low", "high"))
  } else {
    q <- quantile(x, c(1 / 3, 2 / 3), type = 7, names = FALSE)
    factor(ifelse(x <= q[1], "low", ifelse(x <= q[2], "mid", "high")), levels = c("low", "mid", "high"))
  }
}

logrank_rows <- function(d, cohort, score, endpoint) {
  dd <- d[complete.cases(d[, c("time", "event", "score")]), ]
  out <- list()
  for (split in c("median", "tertiles")) {
    dd$group <- groups(dd$score, split)
    sd <- survdiff(Surv(time, event) ~ group, data = dd)
    df <- sum(sd$n > 0) - 1
    out[[split]] <- data.frame(cohort = cohort, score = score, endpoint = endpoint, split = split, n = sum(sd$n),
                               chisq = sd$chisq, df = df, pvalue = pchisq(sd$chisq, df, lower.tail = FALSE))
  }
  do.call(rbind, out)
}

km_rows <- function(d, cohort, score, endpoint) {
  dd <- d[complete.cases(d[, c("time", "event", "score")]), ]
  dd$group <- groups(dd$score, "median")
  fit <- survfit(Surv(time, event) ~ group, data = dd, conf.type = "log-log", conf.int = 0.95)
  data.frame(cohort = cohort, score = score, endpoint = endpoint,
             group = rep(sub("^group=", "", names(fit$strata)), fit$strata), time = fit$time,
             n_risk = fit$n.risk, n_event = fit$n.event, n_censor = fit$n.censor, surv = fit$surv,
             lower = fit$lower, upper = fit$upper)
}

run <- function(data, cohort, scores, endpoints, covars) {
  res <- list(cox = list(), logrank = list(), km = list())
  for (s in scores) for (ep in names(endpoints)) {
    d <- data.frame(time = data[[endpoints[[ep]][1]]], event = data[[endpoints[[ep]][2]]], score = data[[s]],
                    data[covars])
    key <- paste(s, ep)
    res$cox[[key]] <- cox_rows(d, cohort, s, ep, covars)
    res$logrank[[key]] <- logrank_rows(d, cohort, s, ep)
    res$km[[key]] <- km_rows(d, cohort, s, ep)
  }
  lapply(res, function(x) do.call(rbind, x))
}

# simulated cohort
sim <- read.csv(file.path(here, "survival_cohort.csv"), stringsAsFactors = FALSE)
sim$stage <- factor(sim$stage, levels = c("I", "II", "III"))
r_sim <- run(sim, "simulated", c("score_a", "score_b"),
             list(efs = c("efs_time", "efs_event"), os = c("os_time", "os_event")), c("age", "stage"))

# GSE7390
g <- read_arff(arff)
g$er <- factor(g$er, levels = c("negative", "positive"))
g$e.tdm <- as.integer(g$e.tdm)
probes <- grep("^X", names(g), value = TRUE)
stopifnot(length(probes) == 76, nrow(g) == 198)
expr <- as.matrix(g[, probes])
ranks <- t(apply(expr, 1, rank, ties.method = "average"))
nn <- length(probes)
set_score <- function(r, n) (rowMeans(r) - (n + 1) / 2) / ((2 * nn - n + 1) / 2 - (n + 1) / 2) - 0.5
up <- set_score(ranks[, 1:10, drop = FALSE], 10)
down <- set_score(nn + 1 - ranks[, 11:20, drop = FALSE], 10)
# score rounded to 10 decimals: its exact values lie on a coarse grid (rank sums; 71 of the 198 repeat a value), and
# unrounded the ties break in the last bit differently in each language (and in the CSV), which moves samples across
# the median and tertile cuts
g$signature <- round(up + down, 10)
scores <- data.frame(sample = seq_len(nrow(g)), score_up = up, score_down = down, score = g$signature)
r_g <- run(g, "gse7390", c("signature", "X204015_s_at"), list(tdm = c("t.tdm", "e.tdm")), c("age", "size", "er"))

wcsv <- function(x, name) {
  con <- if (endsWith(name, ".gz")) gzfile(file.path(here, name), "w") else file.path(here, name)
  write.csv(x, con, row.names = FALSE)  # numbers to 15 significant digits
  if (inherits(con, "connection")) close(con)
}
wcsv(rbind(r_sim$cox, r_g$cox), "survival_reference_cox.csv")
wcsv(rbind(r_sim$logrank, r_g$logrank), "survival_reference_logrank.csv")
wcsv(rbind(r_sim$km, r_g$km), "survival_reference_km.csv.gz")  # ~1,300 rows: gzipped
wcsv(scores, "survival_reference_scores.csv")
writeLines(c(R.version.string, paste("survival", packageVersion("survival"))),
           file.path(here, "reference_versions_survival.txt"))

cox <- rbind(r_sim$cox, r_g$cox)
print(cox[cox$term == "score", c("cohort", "score", "endpoint", "model", "n", "n_events", "hr", "pvalue",
                                 "lr_chisq")], row.names = FALSE)
print(rbind(r_sim$logrank, r_g$logrank), row.names = FALSE)

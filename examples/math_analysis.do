* The frequentist part of the seed analysis: how does homework time relate to math scores?
* `use math` reads math.dta from the working directory, or else the math data set shipped with
* multilevel, so this do-file runs from anywhere:  multilevel run examples/math_analysis.do
version 17
use math, clear
describe
label list

// the data school by school, with a fitted line in each panel
twoway (scatter math homework) (lfit math homework), by(schid)

// random intercepts and random slopes of homework, unstructured covariance
mixed math homework i.schtype || schid: homework, covariance(unstructured)
estat sd
estimates store slopes

// the BLUPs of the random effects and their standard errors:
// u1 and s1 for homework, u2 and s2 for the intercept
predict u*, reffects reses(s*)

// the caterpillar plot: one point per school, ranked, with 95% intervals
egen tagme = tag(schid)
egen rank = rank(u2) if tagme
serrbar u2 s2 rank if tagme, scale(1.96)

// random intercepts only: intraclass correlation
mixed math homework i.schtype || schid:
estat icc
estimates store intercepts

// do the random slopes improve the fit?
lrtest intercepts slopes

"""A complete multilevel analysis of the math data shipped with the package (Stata's slides, NELS-88).

How does time spent on homework relate to math scores, within and between schools?
Run:  python examples/math_analysis.py
"""

import multilevel as ml


def main() -> None:
    df = ml.datasets.load("math")
    print(ml.io.describe(df))

    print("\n. mixed math homework i.schtype || schid:")
    intercepts = ml.mixed("math homework i.schtype || schid:", data=df)
    print(intercepts)

    print("\n. estat icc")
    print(intercepts.estat_icc())

    command = "math homework i.schtype || schid: homework, covariance(unstructured)"
    print(f"\n. mixed {command}")
    slopes = ml.mixed(command, data=df)
    print(slopes)

    print("\n. estat sd")
    print(slopes.estat_sd())

    print(
        "\n. predict u*, reffects reses(s*)   (the five schools with the steepest homework slopes)"
    )
    effects = slopes.random_effects()["schid"]
    errors = slopes.random_effects_se()["schid"]
    table = effects.join(errors, rsuffix=" se").sort_values("homework", ascending=False)
    print(table.head().round(4).to_string())

    print("\n. lrtest slopes intercepts")
    print(ml.lrtest(slopes, intercepts, names=("slopes", "intercepts")))

    print("\n. test homework = 1")
    print(slopes.test("homework = 1"))


if __name__ == "__main__":
    main()

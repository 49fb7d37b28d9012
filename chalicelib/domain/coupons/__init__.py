"""Coupons: templates, codes, eligibility, discount arithmetic, the stack optimiser. Pure.

    template.py     CouponTemplate (pydantic v2) + cross-field checks with JSON pointers;
                    campaigns/coupon-template.schema.json is generated from it
    rules.py        Rules: a template compiled once into plain values (and the coupon snapshot)
    cart.py         Cart / CartItem request models and the lines the arithmetic works on
    validity.py     claim/use windows, N-days-after-claim, weekday + time-of-day windows
    eligibility.py  one coupon against one cart: None or a stable reason code with details
    stacking.py     exact sequential arithmetic on rational remainders (evaluation order)
    optimizer.py    branch and bound over valid stacks: best + top alternatives
    allocation.py   largest-remainder rounding of exact shares to whole fen
    quote.py        the quote a cart gets: subtotal, best, alternatives, rejected
    codes.py        Crockford base32 codes with a check symbol, from a CSPRNG
"""

"""The rules of the ranking (product.md §5, decisions 0016 and 0038) that more than one service
applies: the criteria and their weights, the score's SQL expressions and the French sentences
that explain them. The matching worker ranks with them; the API explains one pair with them."""

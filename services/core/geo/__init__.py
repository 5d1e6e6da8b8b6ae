"""Geography: communes, QPV polygons, distances."""
